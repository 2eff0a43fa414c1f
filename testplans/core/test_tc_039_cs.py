"""TC_039_CS Offline Transaction (docs/catalogue.md; OCTT p51).

AllowOfflineTxForUnknownId=true (SmartDC's offline authorisation: no cache, no local list);
NET−; offline: PLUG, card -> the transaction starts (current flows), card again -> it stops
(current stops), UNPLUG; NET+ -> StartTransaction (answered Accepted), then StopTransaction
(reason Local or absent) for the transactionId the bench gave; both timestamps lie in the
offline window, the start before the stop.
"""

import pytest

from testplans.ocpp import expect_any_order, station_time
from testplans.offline import cut_network, reconnected, start_offline
from testplans.states import check_current, check_start_payload, check_stop_reason, swipe

pytestmark = pytest.mark.octt(
    "TC_039_CS", "Offline Transaction",
    requires=("offline_auth", "local_stop", "instrument:ev", "instrument:card",
              "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true"},
)


def given_id(station, start) -> int | None:
    """The transactionId the bench answered to `start` (the transaction is over by now)."""
    tx = station.session.transaction_started_by(start.seq)
    return tx.transaction_id if tx is not None else None


async def test_tc_039_cs(case, station, bench):
    n, card = case.connector, case.card()
    cut = await cut_network(case)
    await start_offline(case, card)
    with case.step(f"offline: present card {card.tag} again, unplug: the transaction stops"):
        await swipe(case, card.tag)
        await check_current(case, n, False, "of the card", "the transaction stopped offline")
        await bench.unplug(n)
    back_online = await reconnected(case, "offline steps")

    with case.step("queued StartTransaction, then StopTransaction"):
        start, stop = await expect_any_order(
            case, ("StartTransaction", {"connectorId": n}), ("StopTransaction", None),
            after=cut)
        case.check(start.mono_ns < stop.mono_ns, "the queued StartTransaction before the "
                   "StopTransaction", f"sent StopTransaction (seq {stop.seq}) before "
                   f"StartTransaction (seq {start.seq})")
        check_start_payload(case, start, n, card.id_tag)
        tx_id = given_id(station, start)
        got = stop.payload.get("transactionId")
        case.check(got == tx_id, f"StopTransaction for transactionId {tx_id} (StartTransaction"
                   ".conf)", f"sent transactionId {got} (seq {stop.seq})")
        check_stop_reason(case, stop, "Local", "StopTransaction reason Local (or absent)")
    started = station_time(start.payload.get("timestamp", ""))
    stopped = station_time(stop.payload.get("timestamp", ""))
    slack = float(case.setting("max_time_deviation_s"))
    case.check(started is not None and stopped is not None and started <= stopped
               and (stopped - back_online).total_seconds() <= slack,
               "start and stop timestamps in the offline window, start first",
               f"sent start {start.payload.get('timestamp')} and stop "
               f"{stop.payload.get('timestamp')} (reconnected at {back_online.isoformat()})")

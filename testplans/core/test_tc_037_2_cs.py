"""TC_037_2_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false
(catalogue §1.1 and §3.1; EVerest test_offline_start_transaction_restore).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=false; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> the transaction stays (no StopTransaction) but the energy stops:
StatusNotification(SuspendedEVSE) and no current (EV emulator; reference meter where it sits
on this connector); local stop with the same card -> StopTransaction (reason Local or absent).
"""

import asyncio

import pytest

from testplans.ocpp import expect, expect_status
from testplans.offline import current_flows, unknown_card_started_offline
from testplans.states import check_stop_reason, swipe

pytestmark = pytest.mark.octt(
    "TC_037_2_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false",
    requires=("offline_auth", "local_stop", "instrument:ev", "instrument:card",
              "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "false"},
    measures=("deauthorized.energy_stop",),
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline start
WATCH_S = 2.0  # the de-authorised transaction is watched this long: it must stay
IDLE_W = 50.0  # reference meter: below this the output counts as off


async def test_tc_037_2_cs(case, station, bench):
    n = case.connector
    card, start, tx_id = await unknown_card_started_offline(case, OFFLINE_S)

    with case.step("the transaction stays, SuspendedEVSE, the energy stops"), \
            station.forbid("StopTransaction", {"transactionId": tx_id}):
        await expect(case, "StatusNotification", {"connectorId": n, "status": "SuspendedEVSE"},
                     after=start.mono_ns)
        stopped = await current_flows(case, n, False)
        case.check(stopped is not None, "the energy to stop (StartTransaction.conf Invalid)",
                   f"still delivered current {case.timeout:g} s after it")
        case.measure("deauthorized.energy_stop", (stopped - start.mono_ns) / 1e9,
                     evidence=[start.seq])
        if n in bench.meters:
            power = (await bench.meter_read(n)).power_w
            case.check(power < IDLE_W, f"reference meter below {IDLE_W:g} W",
                       f"still delivered {power:.0f} W")
        await asyncio.sleep(WATCH_S)
    case.passed(f"transaction {tx_id} kept (no StopTransaction) for {WATCH_S:g} s")

    with case.step(f"local stop: present card {card.tag} again"):
        before, _ = await swipe(case, card.tag)
        stop = await expect(case, "StopTransaction", {"transactionId": tx_id}, after=before)
        check_stop_reason(case, stop, "Local", "StopTransaction reason Local (or absent)")
        await expect_status(case, n, "Finishing", after=before)

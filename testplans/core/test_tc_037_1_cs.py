"""TC_037_1_CS Offline Start Transaction – Valid IdTag (catalogue §1.1; OL p48).

SmartDC authorises offline through AllowOfflineTxForUnknownId=true (no cache, no local list,
LocalAuthorizeOffline=false). NET−; PLUG and the valid card offline: the transaction starts
(current flows); NET+ -> StartTransaction (idTag, connectorId, meterStart, timestamp in the
offline window; answered Accepted) and StatusNotification(Charging), either order; current
keeps flowing.
"""

import asyncio
import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import bench_utc_at, expect_any_order, station_time
from testplans.states import check_start_payload, plug_in, swipe, transaction_id_of

pytestmark = pytest.mark.octt(
    "TC_037_1_CS", "Offline Start Transaction – Valid IdTag",
    requires=("offline_auth", "instrument:ev", "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true"},
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline start


async def current_flows(case, n: int, flowing: bool) -> int | None:
    """Poll the EV emulator's measured current until it flows (or stopped); its stamp."""
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline:
        if ((await case.bench.ev_state(n)).measured_current_a > 0.5) == flowing:
            return time.monotonic_ns()
        await asyncio.sleep(0.2)
    return None


async def test_tc_037_1_cs(case, station, bench):
    n, card = case.connector, case.card()
    with case.step(f"network cut for {OFFLINE_S:g} s"):
        cut = await bench.cut_network(OFFLINE_S)
    with case.step(f"offline: plug in, present card {card.tag}: the transaction starts"):
        await plug_in(case, n)
        await swipe(case, card.tag)
        case.check(await current_flows(case, n, True) is not None,
                   "current to flow (transaction started offline)",
                   f"delivered no current within {case.timeout:g} s")
    if station.connected:
        raise BenchFault(f"the station was back online before the offline start was done "
                         f"(OFFLINE_S {OFFLINE_S:g} s too short)")
    with case.step("network restored: the station reconnects"):
        await bench.restore_network(reconnect_timeout_s=float(case.setting("boot_timeout_s")))
        back_station = bench_utc_at(station.connected_mono_ns)

    with case.step("queued StartTransaction and StatusNotification(Charging)"):
        start, _ = await expect_any_order(
            case, ("StartTransaction", {"connectorId": n}),
            ("StatusNotification", {"connectorId": n, "status": "Charging"}), after=cut)
        check_start_payload(case, start, n, card.uid)
        tx_id = await transaction_id_of(case, start)
    started = station_time(start.payload.get("timestamp", ""))
    slack = float(case.setting("max_time_deviation_s"))
    case.check(started is not None and (started - back_station).total_seconds() <= slack,
               "the StartTransaction timestamp in the offline window",
               f"sent {start.payload.get('timestamp')} (reconnected at "
               f"{back_station.isoformat()})")
    with case.step(f"transaction {tx_id} accepted: current keeps flowing"):
        await asyncio.sleep(1.0)
        case.check(await current_flows(case, n, True) is not None,
                   "current to keep flowing after StartTransaction.conf Accepted",
                   f"delivered no current within {case.timeout:g} s")

"""TC_038_CS Offline Stop Transaction (catalogue §1.1; OL p50). Requires a local stop.

Charging; NET−; the driver stops locally (the start card again): current stops; NET+ ->
StopTransaction (reason Local or absent, timestamp in the offline window) and
StatusNotification(Finishing), either order.
"""

import asyncio
import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import bench_utc_at, expect_any_order, station_time
from testplans.states import charging, swipe

pytestmark = pytest.mark.octt(
    "TC_038_CS", "Offline Stop Transaction",
    requires=("local_stop", "instrument:ev", "instrument:card", "instrument:network"),
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline stop


async def current_flows(case, n: int, flowing: bool) -> int | None:
    """Poll the EV emulator's measured current until it flows (or stopped); its stamp."""
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline:
        if ((await case.bench.ev_state(n)).measured_current_a > 0.5) == flowing:
            return time.monotonic_ns()
        await asyncio.sleep(0.2)
    return None


async def test_tc_038_cs(case, station, bench):
    session = await charging(case)
    n, tag = session.connector, case.card().tag
    with case.step(f"network cut for {OFFLINE_S:g} s"):
        cut = await bench.cut_network(OFFLINE_S)
    with case.step(f"offline: present card {tag} again: the transaction stops"):
        await swipe(case, tag)
        case.check(await current_flows(case, n, False) is not None,
                   "current to stop (transaction stopped locally while offline)",
                   f"still delivered current after {case.timeout:g} s")
    if station.connected:
        raise BenchFault(f"the station was back online before the offline stop was done "
                         f"(OFFLINE_S {OFFLINE_S:g} s too short)")
    with case.step("network restored: the station reconnects"):
        await bench.restore_network(reconnect_timeout_s=float(case.setting("boot_timeout_s")))
        back_station = bench_utc_at(station.connected_mono_ns)

    with case.step("queued StopTransaction and StatusNotification(Finishing)"):
        stop, _ = await expect_any_order(
            case, ("StopTransaction", {"transactionId": session.transaction_id}),
            ("StatusNotification", {"connectorId": n, "status": "Finishing"}), after=cut)
        reason = stop.payload.get("reason", "Local")
        case.check(reason == "Local", "StopTransaction reason Local (or absent)",
                   f"sent reason {reason} (seq {stop.seq})")
    stopped = station_time(stop.payload.get("timestamp", ""))
    slack = float(case.setting("max_time_deviation_s"))
    case.check(stopped is not None and (stopped - back_station).total_seconds() <= slack,
               "the StopTransaction timestamp in the offline window",
               f"sent {stop.payload.get('timestamp')} (reconnected at "
               f"{back_station.isoformat()})")

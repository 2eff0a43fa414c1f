"""TC_035_CS Idle Charge Point (catalogue §1.1; EV `test_idle_charge_point`; id INF).

HeartbeatInterval = the configured heartbeat interval; idle station: Heartbeat every interval;
[network cut for longer than one interval, then restored] the station reconnects by itself (a
new BootNotification is not needed) and its Heartbeats resume, every interval again.
Measures the heartbeat period before and after the cut and restore -> reconnection.
"""

import time

import pytest

from testplans.ocpp import expect, intervals_s
from testplans.offline import measure_offline_detection

pytestmark = pytest.mark.octt(
    "TC_035_CS", "Idle Charge Point", requires=("instrument:network",),
    config={"HeartbeatInterval": "{heartbeat_interval_s}"},
)

BEATS = 3  # per phase: two periods before and two after the cut


async def heartbeats(case, after: int, heartbeat_s: float) -> list:
    beats = []
    for _ in range(BEATS):
        beats.append(await expect(case, "Heartbeat", after=after,
                                  within=2 * heartbeat_s + case.timeout))
        after = beats[-1].mono_ns + 1
    return beats


def measure_period(case, beats: list, heartbeat_s: float, suffix: str = "") -> None:
    periods, evidence = intervals_s(beats), [b.seq for b in beats]
    case.measure(f"heartbeat.period{suffix}", series=periods, evidence=evidence)
    case.measure(f"heartbeat.period_error{suffix}",
                 series=[abs(p - heartbeat_s) for p in periods], evidence=evidence)


async def test_tc_035_cs(case, station, bench):
    heartbeat_s = float(case.setting("heartbeat_interval_s"))
    cut_s = heartbeat_s + 1  # long enough that at least one heartbeat is due while offline
    with case.step(f"idle: Heartbeat every {heartbeat_s:g} s"):
        measure_period(case, await heartbeats(case, time.monotonic_ns(), heartbeat_s),
                       heartbeat_s)

    with case.step(f"network cut for {cut_s:g} s, then restored: the station reconnects"):
        await bench.cut_network(cut_s)
        restored = await bench.restore_network()
        reconnect_s = float(case.setting("boot_timeout_s"))
        await station.wait_reconnected(reconnect_s)
        measure_offline_detection(case)
        reconnected = station.connected_mono_ns
        case.measure("network.reconnect_after_restore", max(0.0, (reconnected - restored) / 1e9))

    with case.step(f"Heartbeats resume, every {heartbeat_s:g} s"):
        beats = await heartbeats(case, reconnected, heartbeat_s)
        measure_period(case, beats, heartbeat_s, ".after_reconnect")
    boots = [m for m in station.received("BootNotification") if m.mono_ns >= reconnected]
    case.passed("reconnected without a new BootNotification" if not boots else
                f"reconnected and sent a BootNotification again (seq {boots[0].seq})")

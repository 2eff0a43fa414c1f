"""TC_035_CS Idle Charge Point (docs/catalogue.md; EV `test_idle_charge_point`; id INF).

HeartbeatInterval = the configured heartbeat interval; idle station: Heartbeats, no idle time
over the interval; [network cut for longer than one interval, then restored] the station
reconnects by itself (a new BootNotification is not needed) and its Heartbeats resume.
Judged by idle time (testplans.heartbeat, OCPP 1.6 §4.6): a Heartbeat skipped after other
traffic, or one sent early on reconnect (queued while offline), is conformant.
"""

import time

import pytest

from testplans.heartbeat import idle_heartbeats
from testplans.offline import measure_offline_detection

pytestmark = pytest.mark.octt(
    "TC_035_CS", "Idle Charge Point", requires=("instrument:network",),
    config={"HeartbeatInterval": "{heartbeat_interval_s}"},
)

BEATS = 3  # per phase


async def test_tc_035_cs(case, station, bench):
    heartbeat_s = float(case.setting("heartbeat_interval_s"))
    cut_s = heartbeat_s + 1  # long enough that at least one heartbeat is due while offline
    with case.step(f"idle: Heartbeats, idle at most {heartbeat_s:g} s at a time"):
        await idle_heartbeats(case, after=time.monotonic_ns(), beats=BEATS)

    with case.step(f"network cut for {cut_s:g} s, then restored: the station reconnects"):
        await bench.cut_network(cut_s)
        restored = await bench.restore_network()
        reconnect_s = float(case.setting("boot_timeout_s"))
        await station.wait_reconnected(reconnect_s)
        measure_offline_detection(case)
        reconnected = station.connected_mono_ns
        case.measure("network.reconnect_after_restore", max(0.0, (reconnected - restored) / 1e9))

    # the first idle time counts from the new connection's opening (an inference: the text
    # speaks of OCPP exchanges; before the opening the station could not send)
    with case.step(f"Heartbeats resume, idle at most {heartbeat_s:g} s at a time"):
        await idle_heartbeats(case, after=reconnected, beats=BEATS, suffix=".after_reconnect",
                              from_opening=True)
    boots = [m for m in station.received("BootNotification") if m.mono_ns >= reconnected]
    case.passed("reconnected without a new BootNotification" if not boots else
                f"reconnected and sent a BootNotification again (seq {boots[0].seq})")

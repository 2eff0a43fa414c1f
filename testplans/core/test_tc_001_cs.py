"""TC_001_CS Cold Boot Charge Point (catalogue §1.1; OL p7).

PWR -> BootNotification; the CSMS answers Rejected(interval i); the station sends nothing else
and boots again, not before i; Accepted(interval = configured heartbeat);
StatusNotification(Available) for connector 0 and every connector; Heartbeat every interval.
"""

import time

import pytest

from bench.plugin.prestate import remember_config
from testplans.ocpp import (
    clock_offset_s,
    expect,
    expect_status,
    intervals_s,
    utc_timestamp,
)

pytestmark = pytest.mark.octt(
    "TC_001_CS", "Cold Boot Charge Point", requires=("instrument:mains",),
    boot_case=True,
)


async def test_tc_001_cs(case, station, bench):
    retry_s = int(case.setting("boot_retry_interval_s"))
    heartbeat_s = int(case.setting("heartbeat_interval_s"))
    answers = iter(["Rejected"])  # the first boot is rejected, every later one accepted

    def boot_answer(payload):
        status = next(answers, "Accepted")
        return {"status": status, "currentTime": utc_timestamp(),
                "interval": retry_s if status == "Rejected" else heartbeat_s}

    station.responders.override("BootNotification", boot_answer)
    if station.connected and station.booted:  # the Accepted interval changes it: restore it
        await remember_config(station, case, "HeartbeatInterval")

    with case.step("power cycle the station"):
        before = time.monotonic_ns()
        powered = await bench.power_cycle(float(case.setting("power_off_s")))
    with case.step("BootNotification after power-on, answered Rejected"):
        first = await expect(case, "BootNotification", after=before,
                             within=case.setting("boot_timeout_s"))
        boot_s = (first.mono_ns - powered) / 1e9
        case.measure("boot.time_after_power_on", boot_s, evidence=[first.seq])
        case.collect("boot.time_after_power_on", boot_s, evidence=first.seq)
    with case.step(f"nothing else, then BootNotification again after {retry_s} s: Accepted"), \
            station.forbid("StatusNotification"), station.forbid("Heartbeat"):
        second = await expect(case, "BootNotification", after=first.mono_ns + 1,
                              within=retry_s + case.timeout)
    case.measure("boot.retry_after_rejected", (second.mono_ns - first.mono_ns) / 1e9,
                 evidence=[first.seq, second.seq])

    with case.step("StatusNotification(Available) for connector 0 and every connector"):
        last = second.mono_ns
        for n in range(0, case.rig.station.connectors + 1):
            sn = await expect_status(case, n, "Available", after=second.mono_ns)
            clock_offset_s(case, sn)
            last = max(last, sn.mono_ns)

    with case.step(f"Heartbeat every {heartbeat_s} s"):
        beats = []
        for _ in range(4):
            beats.append(await expect(case, "Heartbeat", after=last + 1,
                                      within=2 * heartbeat_s + case.timeout))
            last = beats[-1].mono_ns
    periods = intervals_s(beats)
    evidence = [b.seq for b in beats]
    case.measure("heartbeat.period", series=periods, evidence=evidence)
    case.measure("heartbeat.period_error", series=[abs(p - heartbeat_s) for p in periods],
                 evidence=evidence)

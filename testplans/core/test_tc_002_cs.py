"""TC_002_CS Cold Boot Charge Point – Pending (catalogue §1.1; OL p7).

PWR -> BootNotification; the CSMS answers Pending(interval i); while pending the station sends
no request of its own (OCPP 1.6 §4.2) but answers the CSMS: GetConfiguration -> CALLRESULT,
ChangeConfiguration(MeterValueSampleInterval) -> Accepted; BootNotification again, not before
i; Accepted(interval = configured heartbeat); StatusNotification(Available) for connector 0 and
every connector; Heartbeat every interval.
"""

import contextlib
import time

import pytest

from bench.plugin.prestate import remember_config
from testplans.ocpp import (
    check_answer,
    check_answer_ok,
    clock_offset_s,
    expect,
    expect_status,
    intervals_s,
    utc_timestamp,
)

pytestmark = pytest.mark.octt(
    "TC_002_CS", "Cold Boot Charge Point – Pending", requires=("instrument:mains",),
    boot_case=True,
)

KEY = "MeterValueSampleInterval"
# requests a pending station must not send (it only answers and boots again)
NOT_WHILE_PENDING = ("StatusNotification", "Heartbeat", "MeterValues", "Authorize",
                     "StartTransaction", "StopTransaction", "DataTransfer")


async def test_tc_002_cs(case, station, bench):
    retry_s = int(case.setting("boot_retry_interval_s"))
    heartbeat_s = int(case.setting("heartbeat_interval_s"))
    value = str(int(float(case.setting("meter_value_sample_interval_s"))))
    answers = iter(["Pending"])  # the first boot is pending, every later one accepted

    def boot_answer(payload):
        status = next(answers, "Accepted")
        return {"status": status, "currentTime": utc_timestamp(),
                "interval": retry_s if status == "Pending" else heartbeat_s}

    station.responders.override("BootNotification", boot_answer)
    if station.connected and station.booted:  # the Accepted interval changes it: restore it
        await remember_config(station, case, "HeartbeatInterval")

    with case.step("power cycle the station"):
        before = time.monotonic_ns()
        powered = await bench.power_cycle(float(case.setting("power_off_s")))
    with case.step("BootNotification after power-on, answered Pending"):
        first = await expect(case, "BootNotification", after=before,
                             within=case.setting("boot_timeout_s"))
        boot_s = (first.mono_ns - powered) / 1e9
        case.measure("boot.time_after_power_on", boot_s, evidence=[first.seq])
        case.collect("boot.time_after_power_on", boot_s, evidence=first.seq)

    with contextlib.ExitStack() as pending:
        for action in NOT_WHILE_PENDING:
            pending.enter_context(station.forbid(action))
        with case.step(f"while pending: GetConfiguration({KEY}) answered"):
            res = await station.call("GetConfiguration", {"key": [KEY]})
            check_answer_ok(case, res, "GetConfiguration while pending")
            entries = {e.get("key"): e for e in res.get("configurationKey", []) or []}
            case.check(KEY in entries, f"configurationKey {KEY} in the answer",
                       f"answered {res.payload} (seq {res.frame_seqs[1]})")
            case.config_original.setdefault(KEY, entries[KEY].get("value"))  # restored later
        with case.step(f"while pending: ChangeConfiguration({KEY}={value}) Accepted"):
            res = await station.call("ChangeConfiguration", {"key": KEY, "value": value})
            check_answer(case, res, "Accepted", f"ChangeConfiguration({KEY}={value}) while pending")
        with case.step(f"BootNotification again, not before {retry_s} s: Accepted"):
            second = await expect(case, "BootNotification", after=first.mono_ns + 1,
                                  within=retry_s + case.timeout)
    case.measure("boot.retry_after_pending", (second.mono_ns - first.mono_ns) / 1e9,
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

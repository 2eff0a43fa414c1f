"""Soak: repeated charging sessions (plug-in first, remote stop), with the statistics of every
sampled MeterValues interval. The station's energy against the reference meter over the same
window is compared by the bench for every transaction (bench/plugin/energy.py: the
`energy.*` measurements of this case hold one value per session). From the plan:
`soak_sessions` sessions of `soak_session_s` each, or, when `soak_duration_s` > 0, as many
sessions as fit in that time."""

import time

import pytest

from testplans.ocpp import (
    check_answer,
    collect_for,
    expect_any_order,
    expect_status,
    intervals_s,
    only_context,
)
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "SOAK_CHARGING", "Repeated charging sessions with meter-value statistics",
    requires=("instrument:ev", "instrument:card", "instrument:meter"),
    config={"MeterValueSampleInterval": "{meter_value_sample_interval_s}",
            "ClockAlignedDataInterval": "0"},
    timeout=43200,  # 12 h; a literal: `bench run` reads markers without importing them
    measures=("meter_values.sample_interval", "energy.deviation"),
)


async def test_soak_charging(case, station, bench):
    sessions, seconds = int(case.setting("soak_sessions")), float(case.setting("soak_session_s"))
    duration = float(case.ctx.settings.get("soak_duration_s", 0))
    interval = float(case.setting("meter_value_sample_interval_s"))
    periods, errors, evidence = [], [], []
    ends = time.monotonic() + duration
    if duration > 0:
        sessions = max(1, int(duration // (seconds + 5)))  # shown as "i/N"; time decides
    i = 0
    while (i < sessions) if duration <= 0 else (i == 0 or time.monotonic() < ends):
        i += 1
        session = await charging(case)
        with case.step(f"session {i}/{sessions}: charging {seconds:g} s"):
            values = await collect_for(case, "MeterValues",
                                       {"connectorId": session.connector,
                                        "transactionId": session.transaction_id,
                                        "meterValue": only_context("Sample.Periodic")},
                                       after=session.start.mono_ns, seconds=seconds)
        gaps = intervals_s(values)
        periods += gaps
        errors += [abs(g - interval) for g in gaps]
        evidence += [m.seq for m in values]
        with case.step(f"session {i}/{sessions}: remote stop"):
            res = await station.call("RemoteStopTransaction",
                                     {"transactionId": session.transaction_id})
            check_answer(case, res, "Accepted", "RemoteStopTransaction")
            stop, _ = await expect_any_order(
                case, ("StopTransaction", {"transactionId": session.transaction_id}),
                ("StatusNotification", {"connectorId": session.connector,
                                        "status": "Finishing"}), after=res.sent_mono_ns)
            case.passed(f"session {i}: StopTransaction seq {stop.seq}")
        with case.step(f"session {i}/{sessions}: unplug"):
            before = time.monotonic_ns()
            unplugged = await bench.unplug(session.connector)
            sn = await expect_status(case, session.connector, "Available", after=before)
            case.collect("status_latency.unplug", (sn.mono_ns - unplugged) / 1e9,
                         evidence=sn.seq)
    case.measure("meter_values.sample_interval", series=periods, evidence=evidence)
    case.measure("meter_values.sample_interval_error", series=errors, evidence=evidence)

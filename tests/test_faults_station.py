"""Each fault profile of the station simulator is caught by the case that should catch it.

For a fault (`bench sim --fault NAME`, via `bench run --fault NAME`) the case named below must
FAIL with a message naming the non-conformance; the conformant station passes the same cases.
A fault whose cases are not written yet is skipped with that reason: add its row to CAUGHT_BY
when its case lands.

The runs are independent processes (own ports, own pcscd) that mostly wait on the station's
timers, so they run a few at a time; each parametrised test then judges its own run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_plans_framework import case_markers
from test_plans_support import BenchRunResult, bench_run, fast_plan

from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # the runs start in one fixture

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "late_remote_start": ("TC_010_CS", "remote_start.response_time"),
    "remote_start_ignores_authorize": ("TC_010_CS", "expected Authorize"),
    "wrong_stop_reason": ("TC_012_CS", "expected StopTransaction reason Remote; the station "
                                       "sent reason Local"),
    "meter_interval_12s": ("TC_070_CS", "meter_values.sample_interval_error"),
    "clock_aligned_off_boundary": ("TC_071_CS", "meter_values.clock_alignment_offset"),
    "no_connector0_status": ("TC_001_CS", "StatusNotification (connectorId=0)"),
    "heartbeat_wrong_interval": ("TC_001_CS", "heartbeat.period"),
    "invalid_boot_notification": ("TC_001_CS", "valid against the OCPP 1.6 schema"),
    "availability_not_persisted": ("TC_013_CS", "expected StatusNotification(connector 1, "
                                                "Unavailable); the station sent status Available"),
}
CONFORMANT = "(conformant)"
PARALLEL_RUNS = 5


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    """Requested before fault_runs: a missing part skips (fails in CI) before any run."""
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """Every run of this module: one per fault in CAUGHT_BY, one of the conformant station."""
    # the conformant run is the longest (every case): it starts first
    jobs: dict[str, list[str]] = {
        CONFORMANT: ["--cases", ",".join(sorted({c for c, _ in CAUGHT_BY.values()}))]}
    jobs.update({fault: ["--cases", case, "--fault", fault]
                 for fault, (case, _) in CAUGHT_BY.items()})

    # tmp_path_factory is not thread-safe: make the folders here
    folders: dict[str, Path] = {n: tmp_path_factory.mktemp(n.strip("()")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        return bench_run(tmp, "--plan", str(fast_plan(tmp)), *jobs[name], "--no-reports",
                         timeout=240)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


def _params() -> list:
    written = set(case_markers())
    out = []
    for name, fault in sorted(FAULTS.items()):
        marks = []
        if name not in CAUGHT_BY:
            cases = sorted(set(fault.affects) & written)
            why = (f"cases {cases} exist but the fault has no row in CAUGHT_BY" if cases
                   else f"none of its cases is written yet ({', '.join(fault.affects)})")
            marks.append(pytest.mark.skip(reason=why))
        out.append(pytest.param(name, id=name, marks=marks))
    return out


@pytest.mark.parametrize("fault", _params())
def test_fault_is_caught(fault: str, real_parts, fault_runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = fault_runs[fault]
    v = res.verdicts()[case]
    assert v["verdict"] == "FAIL", v
    assert text in v["message"], v["message"]
    assert res.rc == 1, res.stdout + res.stderr


def test_conformant_station_passes_the_cases_that_catch_faults(
        real_parts, fault_runs: dict[str, BenchRunResult]) -> None:
    res = fault_runs[CONFORMANT]
    verdicts = res.verdicts()
    cases = sorted({case for case, _ in CAUGHT_BY.values()})
    assert {c: verdicts[c]["verdict"] for c in cases} == dict.fromkeys(cases, "PASS"), \
        {c: verdicts[c]["message"] for c in cases}
    assert res.rc == 0

"""Each fault profile of the station simulator is caught by the case that should catch it.

For a fault (`bench sim --fault NAME`, via `bench run --fault NAME`) the case named below must
FAIL with a message naming the non-conformance; the conformant station passes the same cases.
A fault whose cases are not written yet is skipped with that reason: add its row to CAUGHT_BY
when its case lands.
"""

from __future__ import annotations

import pytest
from test_plans_framework import case_markers
from test_plans_support import bench_run, fast_plan

from sim.station.faults import FAULTS

pytestmark = pytest.mark.slow

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "late_remote_start": ("TC_010_CS", "remote_start.response_time"),
    "remote_start_ignores_authorize": ("TC_010_CS", "expected Authorize"),
    "wrong_stop_reason": ("TC_012_CS", "expected StopTransaction reason Remote; the station "
                                       "sent reason Local"),
    "meter_interval_12s": ("TC_070_CS", "meter_values.sample_interval_error"),
    "no_connector0_status": ("TC_001_CS", "StatusNotification (connectorId=0)"),
    "heartbeat_wrong_interval": ("TC_001_CS", "heartbeat.period"),
    "invalid_boot_notification": ("TC_001_CS", "valid against the OCPP 1.6 schema"),
    "clock_aligned_off_boundary": ("TC_071_CS", "meter_values.clock_alignment_offset"),
    "availability_not_persisted": ("TC_013_CS", "expected StatusNotification(connector 1, "
                                                "Unavailable); the station sent status Available"),
}


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


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
def test_fault_is_caught(fault: str, tmp_path, real_parts) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = bench_run(tmp_path, "--plan", str(fast_plan(tmp_path)), "--cases", case,
                    "--fault", fault, "--no-reports")
    assert res.rc == 1, res.stdout + res.stderr
    v = res.verdicts()[case]
    assert v["verdict"] == "FAIL", v
    assert text in v["message"], v["message"]


def test_conformant_station_passes_the_cases_that_catch_faults(tmp_path, real_parts) -> None:
    cases = sorted({case for case, _ in CAUGHT_BY.values()})
    res = bench_run(tmp_path, "--plan", str(fast_plan(tmp_path)), "--cases", ",".join(cases),
                    "--no-reports")
    verdicts = res.verdicts()
    assert {c: verdicts[c]["verdict"] for c in cases} == dict.fromkeys(cases, "PASS"), \
        {c: verdicts[c]["message"] for c in cases}
    assert res.rc == 0

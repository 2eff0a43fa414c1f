"""One verdict: run_verdict of the record, the exit code, junit.xml, summary.json and
report.html never disagree, for every kind of measurement (a case's own, a run-wide series
sampled in a case or outside every case, a declared one left unset, one not judged, a NaN),
for superseded attempts and for runs the bench could not judge."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.measure import Limits, Measurement
from bench.record import RunRecord, Verdict, VerdictRecord
from bench.record.reader import load_run
from bench.record.verdict import RUN_LEVEL, run_verdict
from reports import build_reports

LIMIT = Limits(high=4.0, stat="max", source="test [pics] max_time_deviation_s")


def measured(rec: RunRecord, name: str, *, case: str | None, value: float | None = None,
             series: list[float] | None = None, index: list | None = None,
             attempts: list | None = None, limits: Limits | None = LIMIT,
             **extra: object) -> None:
    m = Measurement(name, "s", value=value, series=list(series or []), limits=limits,
                    series_index=list(index or []), series_attempt=list(attempts or []))
    for k, v in extra.items():
        setattr(m, k, v)
    line = {**m.as_dict(), "case": case}
    if case is not None:
        line["attempt"] = extra.get("attempt_of_line", 1)
    rec.measurement(line)


def passed(rec: RunRecord, case: str, attempt: int = 1, verdict: Verdict = Verdict.PASS,
           message: str = "all checks passed") -> None:
    rec.verdict(VerdictRecord(case, verdict, message, name=f"case {case}", attempt=attempt))


def case_fail_line(rec: RunRecord) -> None:
    """A case's own measurement FAILed but its verdict line says PASS (an older writer)."""
    measured(rec, "clock.offset", case="TC_003_CS", value=9.998)
    passed(rec, "TC_003_CS")


def run_wide_in_case(rec: RunRecord) -> None:
    """The clock-skew night: every case PASS, the run-wide clock.offset 9.998 s > 4 s."""
    passed(rec, "TC_003_CS")
    passed(rec, "TC_004_1_CS")
    measured(rec, "clock.offset", case=None, series=[0.01, 9.998],
             index=["TC_003_CS", "TC_004_1_CS"], attempts=[1, 1])


def run_wide_outside(rec: RunRecord) -> None:
    """A sample taken at bring-up (no case) misses its limit."""
    passed(rec, "TC_003_CS")
    measured(rec, "ocpp.response_time.GetConfiguration", case=None, series=[45.0, 0.01],
             index=[None, "TC_003_CS"], attempts=[None, 1])


def declared_unset(rec: RunRecord) -> None:
    measured(rec, "triggered.remote_start", case="TC_010_CS", limits=None, required=True)
    passed(rec, "TC_010_CS")


def not_judged(rec: RunRecord) -> None:
    measured(rec, "energy.deviation", case="TC_010_CS", limits=Limits(high=1.5),
             unset_reason="the reference meter counted 0.95 Wh, below energy_min_wh")
    passed(rec, "TC_010_CS")


def non_finite(rec: RunRecord) -> None:
    measured(rec, "energy.deviation", case="TC_070_CS", series=[0.2, math.inf])
    passed(rec, "TC_070_CS")


def superseded_attempt(rec: RunRecord) -> None:
    """Attempt 1 failed a run-wide sample, attempt 2 (the resumed one) passed."""
    passed(rec, "TC_003_CS", 1, Verdict.FAIL, "measurement clock.offset = 9.998 s")
    passed(rec, "TC_003_CS", 2)
    measured(rec, "clock.offset", case=None, series=[9.998, 0.01],
             index=["TC_003_CS", "TC_003_CS"], attempts=[1, 2])


def error_with_failed_measurement(rec: RunRecord) -> None:
    measured(rec, "status_latency.plug_in", case="TC_003_CS", value=31.0)
    passed(rec, "TC_003_CS", verdict=Verdict.ERROR, message="InstrumentError: meter gone")


def blocked_only(rec: RunRecord) -> None:
    passed(rec, "TC_003_CS", verdict=Verdict.BLOCKED, message="prerequisite TC_001_CS")


def all_pass(rec: RunRecord) -> None:
    measured(rec, "clock.offset", case="TC_003_CS", value=0.01)
    passed(rec, "TC_003_CS")
    measured(rec, "clock.offset", case=None, series=[0.01], index=["TC_003_CS"], attempts=[1])


# builder, run status, expected overall verdict, exit code, {case: verdict}, text in message
CASES: list[tuple[Callable[[RunRecord], None], str, str, int, dict[str, str], str]] = [
    (case_fail_line, "complete", "FAIL", 1, {"TC_003_CS": "FAIL"}, "clock.offset = 9.998"),
    (run_wide_in_case, "complete", "FAIL", 1, {"TC_003_CS": "PASS", "TC_004_1_CS": "FAIL"},
     "of this case"),
    (run_wide_outside, "complete", "FAIL", 1, {"TC_003_CS": "PASS", RUN_LEVEL: "FAIL"},
     "taken outside every case"),
    (declared_unset, "complete", "FAIL", 1, {"TC_010_CS": "FAIL"}, "nothing measured"),
    (not_judged, "complete", "PASS", 0, {"TC_010_CS": "PASS"}, ""),
    (non_finite, "complete", "FAIL", 1, {"TC_070_CS": "FAIL"}, "non-finite"),
    (superseded_attempt, "complete", "PASS", 0, {"TC_003_CS": "PASS"}, ""),
    (error_with_failed_measurement, "complete", "FAIL", 1, {"TC_003_CS": "FAIL"},
     "also ended in ERROR"),
    (blocked_only, "complete", "BLOCKED", 3, {"TC_003_CS": "BLOCKED"}, ""),
    (all_pass, "interrupted", "INCOMPLETE", 3, {"TC_003_CS": "PASS"}, ""),
    (all_pass, "complete", "PASS", 0, {"TC_003_CS": "PASS"}, ""),
]


@pytest.mark.parametrize(("build", "status", "overall", "code", "cases", "text"), CASES,
                         ids=[f"{c[0].__name__}-{c[1]}" for c in CASES])
def test_every_output_carries_the_same_verdict(tmp_path: Path, build, status, overall, code,
                                               cases, text) -> None:
    rec = RunRecord.create(tmp_path, "verdict")
    build(rec)
    rec.close(status)
    build_reports(rec.path)
    rv = run_verdict(load_run(rec.path))
    assert (rv.verdict, rv.exit_code) == (overall, code)
    assert {c.case: c.verdict for c in rv.cases} == cases
    if text:
        assert any(text in c.message for c in rv.cases), [c.message for c in rv.cases]

    summary = json.loads((rec.path / "summary.json").read_text("utf-8"))
    assert (summary["verdict"], summary["exit_code"]) == (overall, code)
    assert {c["case"]: c["verdict"] for c in summary["cases"]} == cases

    suite = ET.parse(rec.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    junit = {}
    for tc in suite.iter("testcase"):
        kind = next((child.tag for child in tc if child.tag in ("failure", "error", "skipped")),
                    "passed")
        junit[tc.get("name", "").split()[0]] = kind
    want = {"PASS": "passed", "FAIL": "failure", "ERROR": "error", "BLOCKED": "skipped"}
    assert junit == {c: want[v] for c, v in cases.items()}
    assert int(suite.get("failures", "0")) == sum(v == "FAIL" for v in cases.values())
    assert (code == 1) == (int(suite.get("failures", "0")) > 0)

    html = (rec.path / "report.html").read_text("utf-8")
    after = html.split("Overall verdict", 1)[1][:300]
    words = re.sub(r"<[^>]+>", " ", after).replace(":", " ").split()
    assert words[0] == overall, words[:5]


def test_a_not_judged_measurement_says_why_and_is_no_pass(tmp_path: Path) -> None:
    rec = RunRecord.create(tmp_path, "unset")
    not_judged(rec)
    rec.close()
    m = next(m for m in load_run(rec.path).measurements if m["name"] == "energy.deviation")
    assert m["outcome"] == "UNSET" and "below energy_min_wh" in m["unset_reason"]


def test_non_finite_values_fail_every_limit() -> None:
    for stat in ("max", "min", "median", "p95", "mean"):
        m = Measurement("x", "s", series=[1.0, math.nan, 1.0], limits=Limits(0, 2, stat))
        assert m.outcome == "FAIL" and "non-finite" in m.describe(), stat
    assert not Limits(low=0).check(math.inf)
    assert not Limits(high=1).check(math.nan)
    assert Measurement("x", "s", value=math.nan).outcome == "UNSET"  # no limit: not judged

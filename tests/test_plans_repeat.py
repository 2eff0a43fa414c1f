"""--repeat N: repetitions are not re-attempts. Every repetition is judged; the case stands as
its worst repetition, in run_verdict (exit code), JUnit, summary.json and the report, which
list each. A resumed run's new round of repetitions supersedes the earlier round, as a
resumed attempt supersedes the earlier attempt."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from test_plans_support import plan_env

from bench.measure import Limits, Measurement
from bench.plugin import BenchPlugin
from bench.record import RunRecord, Verdict, VerdictRecord
from bench.record.reader import load_run
from bench.record.verdict import EXIT_FAIL, EXIT_OK, run_verdict
from reports import build_reports

pytest_plugins = ["pytester"]

REPEATED = """
import pytest

pytestmark = pytest.mark.octt("TC_900_CS", "Repeated on purpose")


async def test_repeated(case, bench_attempt):
    case.check(bench_attempt != 1, "the station to pass", "failed repetition 1 on purpose")
"""


def test_a_failing_repetition_fails_the_case(pytester: pytest.Pytester, tmp_path) -> None:
    with plan_env(tmp_path) as env:
        pytester.makepyfile(test_repeated=REPEATED)
        plugin = BenchPlugin(env.ctx, repeat=3)
        pytester.runpytest_inprocess("-p", "no:asyncio", "-p", "no:cacheprovider",
                                     plugins=[plugin])
        plugin.finalize()
        outcome = env.ctx.outcomes["TC_900_CS"]  # what depends= of a later case sees
    lines = [v for v in load_run(env.record.path).verdicts if v["case"] == "TC_900_CS"]
    assert [(v["repetition"], v["repetitions"], v["verdict"]) for v in lines] == [
        (1, 3, "FAIL"), (2, 3, "PASS"), (3, 3, "PASS")]
    assert outcome == Verdict.FAIL

    judged = run_verdict(load_run(env.record.path))
    case = judged.case("TC_900_CS")
    assert case.verdict == "FAIL" and judged.exit_code == EXIT_FAIL
    assert case.message.startswith("repetition 1 of 3: expected the station to pass; the "
                                   "station failed repetition 1 on purpose"), case.message
    assert case.message.endswith("(repetitions 2 PASS, 3 PASS)"), case.message
    assert case.decisive["repetition"] == 1

    build_reports(env.record.path)
    run_dir = env.record.path
    assert json.loads((run_dir / "summary.json").read_text("utf-8"))["exit_code"] == EXIT_FAIL
    tc = ET.parse(run_dir / "junit.xml").getroot().find(".//testcase")
    failure = tc.find("failure")
    assert failure is not None and "repetition 1 of 3" in failure.get("message")
    assert "failed repetition 1 on purpose" in failure.text  # the failing repetition's checks
    listed = tc.find("system-out").text.splitlines()
    assert [line.split(":")[0] for line in listed] == [
        "attempt 1 (repetition 1 of 3)", "attempt 2 (repetition 2 of 3)",
        "attempt 3 (repetition 3 of 3)"]
    html = (run_dir / "report.html").read_text("utf-8")
    assert "repetition 1 of 3" in html and "Attempt 3 (repetition 3 of 3)" in html


def repeated(rec: RunRecord, attempt: int, repetition: int, verdict: Verdict) -> None:
    rec.verdict(VerdictRecord("TC_010_CS", verdict, f"{verdict} on purpose", name="x",
                              attempt=attempt, repetition=repetition, repetitions=2))


def test_the_last_round_of_repetitions_decides(tmp_path) -> None:
    """A resumed run repeats the case again: its round supersedes the first round, and a
    measurement that failed in any repetition of the last round fails the case."""
    rec = RunRecord.create(tmp_path, "rounds")
    repeated(rec, 1, 1, Verdict.FAIL)
    repeated(rec, 2, 2, Verdict.ERROR)
    repeated(rec, 3, 1, Verdict.PASS)  # --resume: a round of its own
    repeated(rec, 4, 2, Verdict.PASS)
    rec.close()
    judged = run_verdict(load_run(rec.path))
    assert judged.case("TC_010_CS").verdict == "PASS" and judged.exit_code == EXIT_OK

    rec = RunRecord.reopen(rec.path)
    rec.measurement({**Measurement("triggered.remote_start", "s", value=11.0,
                                   limits=Limits(high=10.0, source="test")).as_dict(),
                     "case": "TC_010_CS", "attempt": 3})
    rec.close()
    case = run_verdict(load_run(rec.path)).case("TC_010_CS")
    assert case.verdict == "FAIL", case
    assert case.message.startswith("repetition 1 of 2: measurement triggered.remote_start")


def test_attempts_without_repetitions_are_judged_by_the_last(tmp_path) -> None:
    """Not repeated: a re-attempt (--resume) supersedes the earlier one, as before."""
    rec = RunRecord.create(tmp_path, "attempts")
    rec.verdict(VerdictRecord("TC_003_CS", Verdict.ERROR, "meter down", attempt=1))
    rec.verdict(VerdictRecord("TC_003_CS", Verdict.PASS, "all checks passed", attempt=2))
    rec.close()
    case = run_verdict(load_run(rec.path)).case("TC_003_CS")
    assert (case.verdict, case.message) == ("PASS", "all checks passed")

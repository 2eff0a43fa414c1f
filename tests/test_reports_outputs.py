"""junit.xml, summary.json and `bench report` on recorded runs (complete, failed, cut off)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support.samplerun import write_controls_run, write_sample_run

from bench.commands import report as report_cmd
from bench.record import RunRecord
from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from reports import build_reports


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory) -> Path:
    run = write_sample_run(tmp_path_factory.mktemp("runs"), fail=True)
    build_reports(run)
    return run


def junit_cases(run: Path) -> dict[str, ET.Element]:
    root = ET.parse(run / "junit.xml").getroot()
    return {tc.get("name", "").split()[0]: tc for tc in root.iter("testcase")}


def test_junit_has_one_testcase_per_case_with_its_final_verdict(failed_run):
    suite = ET.parse(failed_run / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("10", "2", "0", "2")
    cases = junit_cases(failed_run)
    assert len(cases) == 10
    failure = cases["TC_012_CS"].find("failure")
    assert failure is not None and "reason 'Local'" in failure.get("message", "")
    assert "checked: StopTransaction reason Remote" in (failure.text or "")
    assert cases["TC_012_CS"].get("classname") == "ocpp16.Core"
    na = cases["TC_017_1_CS"].find("skipped")
    assert na is not None and na.get("message", "").startswith("N/A: needs a socket")
    blocked = cases["TC_068_CS"].find("skipped")
    assert blocked is not None and "blocked by TC_012_CS" in blocked.get("message", "")
    # the final attempt counts: ERROR then PASS is a pass, with both attempts in system-out
    retried = cases["TC_062_CS"]
    assert retried.find("error") is None and retried.find("failure") is None
    assert "attempt 1: ERROR" in (retried.findtext("system-out") or "")
    assert cases["TC_001_CS"].get("time") == "49.200"


def test_junit_error_for_bench_faults(tmp_path):
    from bench.record import Verdict, VerdictRecord

    rec = RunRecord.create(tmp_path, "err")
    rec.verdict(VerdictRecord("TC_003_CS", Verdict.ERROR, "EV emulator 127.0.0.1:15020 gone"))
    rec.close()
    build_reports(rec.path)
    err = junit_cases(rec.path)["TC_003_CS"].find("error")
    assert err is not None and "127.0.0.1:15020" in err.get("message", "")


def test_summary_json(failed_run):
    s = json.loads((failed_run / "summary.json").read_text("utf-8"))
    assert s["verdict"] == "FAIL" and s["partial"] is False
    assert s["counts"] == {"PASS": 6, "FAIL": 2, "N/A": 1, "BLOCKED": 1}
    assert s["profiles"]["Core"]["result"] == "FAIL"
    assert s["profiles"]["Reservation"]["result"] == "N/A"
    by_case = {c["case"]: c for c in s["cases"]}
    assert by_case["TC_012_CS"]["verdict"] == "FAIL"
    assert by_case["TC_062_CS"]["attempts"] == 2
    interval = next(m for m in s["measurements"] if m["name"] == "MeterValues sample interval")
    assert interval["stats"]["median"] == 15 and interval["outcome"] == "FAIL"
    assert s["station"]["firmwareVersion"] == "v8.8.15"
    assert s["meta"]["status"] == "complete"


def test_bench_report_rebuilds_a_cut_off_run_and_prints_the_path(tmp_path, capsys):
    run = write_sample_run(tmp_path, partial=True)
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    # a torn last line, as a killed process leaves it
    with open(run / "frames.jsonl", "a", encoding="utf-8") as f:
        f.write('{"seq": 999, "mono_ns": 1, "raw": "[2,\\"x')
    # built: exit by the run's verdict, as `bench run` would (cut off: 3, not judged)
    assert report_cmd.main([str(run)]) == 3
    out = capsys.readouterr().out.strip()
    assert out == str(run / "report.html")
    for name in ("report.html", "junit.xml", "summary.json"):
        assert (run / name).stat().st_size > 0
    s = json.loads((run / "summary.json").read_text())
    assert s["partial"] is True and s["verdict"] == "INCOMPLETE"
    assert s["record"]["torn_lines"] == 1
    incomplete = junit_cases(run)["TC_070_CS"].find("error")
    assert incomplete is not None and incomplete.get("type") == "INCOMPLETE"
    assert "torn record line" in (run / "report.html").read_text("utf-8")


def test_bench_report_rejects_a_missing_directory(tmp_path, capsys):
    assert report_cmd.main([str(tmp_path / "nope")]) == 2
    assert "run directory not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report_cmd.main([str(tmp_path / "empty")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_build_reports_on_an_empty_record(tmp_path):
    rec = RunRecord.create(tmp_path, "empty")
    rec.close("error")
    html = build_reports(rec.path).read_text("utf-8")
    assert "No case was recorded." in html and "Partial run" in html


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exit_code_junit_summary_and_report_agree_on_a_real_run(real_run):
    """One verdict: what `bench run` exited with, junit.xml, summary.json and report.html are
    all run_verdict of the record the real receiver and plugin wrote."""
    judged = run_verdict(load_run(real_run.path))
    summary = json.loads((real_run.path / "summary.json").read_text("utf-8"))
    assert real_run.exit_code == summary["exit_code"] == judged.exit_code
    assert summary["verdict"] == judged.verdict
    assert [(c["case"], c["verdict"], c["message"]) for c in summary["cases"]] == [
        (c.case, c.verdict, c.message) for c in judged.cases]
    suite = ET.parse(real_run.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    kinds = {"FAIL": "failure", "ERROR": "error", "INCOMPLETE": "error", "N/A": "skipped",
             "BLOCKED": "skipped", "PASS": None}
    cases = junit_cases(real_run.path)
    assert list(cases) == [c.case for c in judged.cases]
    for c in judged.cases:
        outcome = [e.tag for e in cases[c.case] if e.tag in ("failure", "error", "skipped")]
        assert outcome == ([kinds[c.verdict]] if kinds[c.verdict] else []), c.case
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        str(len(judged.cases)), str(judged.counts.get("FAIL", 0)),
        str(judged.counts.get("N/A", 0) + judged.counts.get("BLOCKED", 0)))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["overall verdict"] == judged.verdict
    html = (real_run.path / "report.html").read_text("utf-8")
    assert f'class="v v-{judged.verdict}">{judged.verdict}' in html.split("Overall verdict")[1]
    # the bench's JUnit names the same cases as pytest's own
    pytest_junit = ET.parse(real_run.path / "pytest-junit.xml").getroot()
    assert int(pytest_junit.find("testsuite").get("tests")) == len(judged.cases)


def test_junit_stays_valid_xml_when_station_text_holds_control_characters(tmp_path):
    run = write_controls_run(tmp_path)
    build_reports(run)
    raw = (run / "junit.xml").read_text("utf-8")
    assert not any(c in raw for c in "\x00\x1b\u202e\u200b\u2028")
    failure = junit_cases(run)["TC_012_CS"].find("failure")  # parses: the XML is well formed
    shown = "\\u202eevil\\x1b[2J\\x00\\u200b\\u2028"
    assert failure is not None and failure.get("message") == (
        f"the station sent reason Local{shown}")
    assert f"checked: StopTransaction reason Remote{shown}" in (failure.text or "")
    props = {p.get("name"): p.get("value")
             for p in ET.parse(run / "junit.xml").getroot().iter("property")}
    assert props["Vendor name"] == f"Flo{shown}"

"""`bench run` end to end on the simulated rig: a case passes through every real part, the run
directory holds record, pytest-html, JUnit and report; SIGTERM still ends in safe state."""

from __future__ import annotations

import json
import os

import pytest
from test_plans_support import REPO, bench_run, bench_run_sigterm_while_charging, fast_plan

from bench.record.reader import load_run

pytestmark = pytest.mark.slow


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def test_bench_run_one_case_end_to_end(tmp_path, real_parts) -> None:
    res = bench_run(tmp_path, "--plan", str(fast_plan(tmp_path)), "--cases", "TC_003_CS")
    assert res.rc == 0, res.stdout + res.stderr
    run = load_run(res.run_dir)
    assert run.meta["status"] == "complete"
    assert [(v["case"], v["verdict"]) for v in run.verdicts] == [("TC_003_CS", "PASS")]
    assert res.stdout.strip().splitlines()[-1] == str(res.run_dir / "report.html")
    for name in ("pytest-report.html", "pytest-junit.xml", "report.html", "run.json"):
        assert (res.run_dir / name).is_file(), name
    assert 'tests="1"' in (res.run_dir / "pytest-junit.xml").read_text("utf-8")
    for snap in ("rig", "pics", "hardware", "non_ocpp_config", "plan", "station",
                 "station_config_start", "station_config_end", "instruments"):
        assert snap in run.snapshots, snap
    # every frame of the case is tagged with it, and the run-wide series are recorded
    case_frames = [f for f in run.frames if f["case"] == "TC_003_CS"]
    assert {"StartTransaction", "Authorize"} <= {f["action"] for f in case_frames}
    names = {m["name"] for m in run.measurements}
    assert {"ocpp.response_time.GetConfiguration", "status_latency.plug_in"} <= names
    done = [e for e in run.events if e["kind"] == "safe_state" and e["name"] == "done"]
    assert [e["detail"]["ok"] for e in done] == [True, True]  # before the first case, at the end
    first_case_seq = min(f["seq"] for f in case_frames)
    assert done[0]["seq"] < first_case_seq < done[1]["seq"]
    assert any(e["name"] == "sim-stopped" for e in run.events)
    # one verdict: the exit code is the record's, and the reports were built from it
    assert run.meta["reports"]["built"] is True
    assert run.meta["reports"]["path"] == "report.html"
    assert run.meta["reports"].get("pdf") in (None, "report.pdf")  # printed where Chromium is
    assert json.loads((res.run_dir / "summary.json").read_text("utf-8"))["exit_code"] == 0
    own = {m["name"]: m for m in run.measurements if m["case"] == "TC_003_CS"}
    # the transaction's energy is compared with the reference meter, judged in the case
    assert own["energy.deviation"]["outcome"] == "PASS", own["energy.deviation"]
    # latencies start at the verb's issue stamp: never negative
    assert own["status_latency.plug_in"]["stats"]["min"] > 0
    assert own["status_latency.plug_in"]["scope"] == "case-samples"


def test_reports_that_cannot_be_built_exit_4(tmp_path) -> None:
    """A run whose reports fail says so in run.json and exits 4 (bench run and bench report):
    CI must not read a night without a report as green."""
    from bench.commands import report as report_cmd
    from bench.commands.run import Run
    from bench.record import RunRecord, Verdict, VerdictRecord

    rec = RunRecord.create(tmp_path, "noreport")
    rec.verdict(VerdictRecord("TC_003_CS", Verdict.PASS, "all checks passed"))
    rec.close()
    (rec.path / "report.html").mkdir()  # the report cannot be written there
    run = Run.__new__(Run)  # only what _build_reports uses: a finished run's record
    run.record, run.reports = rec, True
    path, why = run._build_reports()
    assert path is None and "IsADirectoryError" in why
    assert json.loads((rec.path / "run.json").read_text("utf-8"))["reports"]["built"] is False
    assert report_cmd.main([str(rec.path)]) == 4


def test_sigterm_ends_in_safe_state_and_an_interrupted_record(tmp_path, real_parts) -> None:
    runs = tmp_path / "runs"
    rc, out = bench_run_sigterm_while_charging(
        runs, "--plan", str(fast_plan(tmp_path)), "--cases", "TC_070_CS", "--no-reports")
    assert rc == 130, out
    run_dir = next(runs.glob("*"))
    meta = json.loads((run_dir / "run.json").read_text("utf-8"))
    assert meta["status"] == "interrupted"
    run = load_run(run_dir)
    done = [e for e in run.events if e["kind"] == "safe_state" and e["name"] == "done"]
    assert done and done[0]["detail"]["ok"], run.events[-10:]
    stopped = [e for e in run.events if e["name"] == "sim-stopped"]
    assert stopped, "the simulated rig was not stopped"
    pid = stopped[0]["detail"]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_bench_killed_outright_leaves_no_simulated_rig(tmp_path, real_parts) -> None:
    """SIGKILL gives the bench no chance to stop its rig: the rig stops by itself (bench sim
    --parent-pid), with its pcscd, instead of running on for ever."""
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", "--plan",
                             str(fast_plan(tmp_path)), "--cases", "TC_003_CS", "--no-reports",
                             "--runs-dir", str(runs)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        started: list[dict] = []
        while not started and time.monotonic() < deadline:
            events = list(runs.glob("*/events.jsonl"))
            text = events[0].read_text("utf-8") if events else ""
            started = [json.loads(line) for line in text.splitlines() if '"sim-ready"' in line]
            time.sleep(0.2)
        assert started, "the simulated rig never came up"
        sim_pid = next(json.loads(line)["detail"]["pid"] for line in text.splitlines()
                       if '"sim-started"' in line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(sim_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(sim_pid, signal.SIGKILL)  # leave nothing behind, then fail
    raise AssertionError(f"bench sim (pid {sim_pid}) still ran 15 s after its bench was killed")

"""Campaigns can be resumed (rule 24): `bench run --resume RUN_DIR` re-runs only the cases of a
cut-off run without a final PASS/FAIL, appends to its record and rebuilds its reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_plans_support import (
    REPO,
    bench_run,
    bench_run_sigterm_while_charging,
    fast_plan,
    plan_env,
)

from bench.commands.run import RUN_DIR_RESOURCE
from bench.lock import acquire
from bench.plugin import BenchPlugin
from bench.plugin.resume import ResumeState
from bench.record.reader import load_run

pytest_plugins = ["pytester"]

# pytest runs them in file order: TC_019, TC_021 (fast), then TC_070 (charges ~10 s)
CASES = "TC_019_CS,TC_070_CS,TC_021_CS"


def _state(lines: list[tuple[str, str, int]], repeat: int = 1) -> ResumeState:
    verdicts: dict[str, list[dict]] = {}
    for case, verdict, attempt in lines:
        verdicts.setdefault(case, []).append({"case": case, "verdict": verdict,
                                              "attempt": attempt})
    return ResumeState(Path("r"), {}, "fast", Path("rig"), [], repeat, [], verdicts)


def test_which_cases_a_resume_runs_again() -> None:
    s = _state([("A", "PASS", 1), ("B", "FAIL", 1), ("C", "ERROR", 1), ("D", "BLOCKED", 1),
                ("E", "N/A", 1), ("F", "ERROR", 1), ("F", "PASS", 2), ("G", "PASS", 1),
                ("G", "ERROR", 2)])
    assert s.to_run(list("ABCDEFGH")) == ["C", "D", "G", "H"]  # H: no verdict (cut off)
    assert (s.attempts("G"), s.attempts("H")) == (2, 0)
    assert str(s.outcomes()["B"]) == "FAIL"
    # with repetitions a case is settled once it has that many final verdicts
    r = _state([("A", "PASS", 1), ("A", "PASS", 2), ("B", "PASS", 1)], repeat=2)
    assert r.to_run(["A", "B"]) == ["B"]


CASE = '''
import pytest


@pytest.mark.octt("TC_970_CS", "resumed")
async def test_resumed(case, station):
    res = await station.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    case.check(res.error is None, "GetConfiguration answered", "sent a CALLERROR")


@pytest.mark.octt("TC_971_CS", "blocked again", depends=("TC_960_CS",))
async def test_blocked(case):
    raise AssertionError("must not run")
'''


def test_resumed_attempts_are_numbered_on(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The plugin numbers a re-run case's attempts after those in the record, also for a case
    that is BLOCKED again by a prerequisite whose last verdict was FAIL."""
    from bench.record import Verdict

    pytester.makepyfile(test_cases=CASE)
    with plan_env(tmp_path) as env:
        env.ctx.outcomes["TC_960_CS"] = Verdict.FAIL
        plugin = BenchPlugin(env.ctx, attempts_before={"TC_970_CS": 2, "TC_971_CS": 1})
        pytester.runpytest_inprocess("-p", "no:asyncio", "-p", "no:cacheprovider",
                                     plugins=[plugin])
        plugin.finalize()
        v = env.verdicts()
    assert (v["TC_970_CS"]["verdict"], v["TC_970_CS"]["attempt"]) == ("PASS", 3)
    assert (v["TC_971_CS"]["verdict"], v["TC_971_CS"]["attempt"]) == ("BLOCKED", 2)


def test_resume_refuses_what_it_cannot_resume(tmp_path: Path) -> None:
    res = bench_run(tmp_path, "--resume", str(tmp_path), timeout=60)
    assert res.rc == 2 and "not a run directory (no run.json)" in res.stderr, res.stderr

    run_dir = tmp_path / "runs" / "2026-01-01T00-00-00Z-fast"
    run_dir.mkdir(parents=True)
    meta = {"plan": "fast", "plan_path": str(tmp_path / "gone.toml"), "rig": "rigs/sim.toml"}
    (run_dir / "run.json").write_text(json.dumps(meta), "utf-8")
    res = bench_run(tmp_path, "--resume", str(run_dir), timeout=60)
    assert res.rc == 2 and f"plan file {tmp_path / 'gone.toml'} is gone" in res.stderr

    meta.update(plan_path=str(fast_plan(tmp_path)), rig="rigs/nope.toml", rig_path=None)
    (run_dir / "run.json").write_text(json.dumps(meta), "utf-8")
    res = bench_run(tmp_path, "--resume", str(run_dir), timeout=60)
    assert res.rc == 2 and "rig file is gone" in res.stderr and "nope.toml" in res.stderr

    res = bench_run(tmp_path, "--resume", str(run_dir), "--plan", "core", timeout=60)
    assert res.rc == 2 and "drop --plan" in res.stderr, res.stderr

    meta.update(rig="rigs/sim.toml")
    (run_dir / "run.json").write_text(json.dumps(meta), "utf-8")
    with acquire(run_dir, [RUN_DIR_RESOURCE], run_dir=str(run_dir)):  # the run is still going
        res = bench_run(tmp_path, "--resume", str(run_dir), timeout=60)
    assert res.rc == 2 and "the run is still going" in res.stderr, res.stderr


@pytest.mark.slow
def test_cut_off_campaign_resumes_only_the_missing_cases(tmp_path: Path, pcscd_binary,
                                                         vpcd_driver) -> None:
    runs, lock_dir = tmp_path / "runs", tmp_path / "locks"
    plan = str(fast_plan(tmp_path))
    rc, out = bench_run_sigterm_while_charging(  # cut off while TC_070_CS charges
        runs, "--plan", plan, "--cases", CASES, "--lock", "--lock-dir", str(lock_dir))
    assert rc == 130, out
    run_dir = next(p for p in runs.iterdir() if not p.name.startswith("."))
    first = load_run(run_dir)
    assert first.meta["status"] == "interrupted"
    assert first.meta["rig_lock"]["taken"] is True
    assert any(e["name"] == "rig-lock" for e in first.events)
    before = {v["case"]: v["verdict"] for v in first.verdicts}
    assert before.get("TC_019_CS") == "PASS" and before.get("TC_021_CS") == "PASS", before
    assert before.get("TC_070_CS") != "PASS", before
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert {c["case"]: c["verdict"] for c in summary["cases"]}["TC_070_CS"] != "PASS"

    # the lock died with the run: the resume takes it again
    res = bench_run(tmp_path, "--resume", str(run_dir), "--lock", "--lock-dir", str(lock_dir),
                    timeout=120)
    assert res.rc == 0, res.stdout + res.stderr
    assert res.stdout.strip().splitlines()[-1] == str(run_dir / "report.html")
    run = load_run(run_dir)
    added = run.verdicts[len(first.verdicts):]
    assert [(v["case"], v["verdict"]) for v in added] == [("TC_070_CS", "PASS")]
    # the killed attempt counts: its frames stay, labelled with its number; the resumed one
    # is numbered on, and the report shows the evidence of the final attempt only
    killed = {f.get("attempt") for f in first.frames if f.get("case") == "TC_070_CS"}
    assert killed == {1}, killed
    assert added[0]["attempt"] == 2
    html = (run_dir / "report.html").read_text("utf-8")
    section = html.split('id="case-TC_070_CS"', 1)[1].split("</section>", 1)[0]
    assert "of earlier attempts are in frames.jsonl" in section
    assert run.meta["status"] == "complete"
    [resumed] = run.meta["resumed"]
    assert resumed["cases"] == ["TC_070_CS"] and resumed["status"] == "complete"
    assert resumed["previous_status"] == "interrupted" and resumed["started_utc"]
    seqs = [line["seq"] for line in run.frames + run.events + run.verdicts]
    assert len(seqs) == len(set(seqs)), "sequence numbers must continue, not restart"
    assert (run_dir / "snapshots" / "before-resume1" / "station_config_start.json").is_file()

    rc = subprocess.run([sys.executable, "-m", "bench.cli", "report", str(run_dir)], cwd=REPO,
                        capture_output=True, text=True, timeout=120)
    assert rc.returncode == 0, rc.stderr
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert {c["case"]: c["verdict"] for c in summary["cases"]} == {
        "TC_019_CS": "PASS", "TC_021_CS": "PASS", "TC_070_CS": "PASS"}
    assert summary["verdict"] == "PASS"

    res = bench_run(tmp_path, "--resume", str(run_dir), timeout=60)
    assert res.rc == 0 and "nothing to resume" in res.stderr, res.stderr

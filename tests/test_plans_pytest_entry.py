"""Plain pytest runs the OCTT cases like `bench run`: the bench's pytest11 entry point.

`pytest testplans/core --rig rigs/sim.toml -k ... -x -v` makes the same run directory, record,
verdicts, reports and exit code as `bench run`; pytest's --co, --lf and --pdb work on it.
Without --rig the plugin does nothing (the bench's own tests run with it installed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_plans_support import REPO

from bench.record.reader import load_run
from bench.record.verdict import EXIT_FAIL, EXIT_OK, EXIT_USAGE, run_verdict

pytest_plugins = ["pytester"]


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def plain_pytest(tmp_path: Path, *args: str, stdin: str | None = None,
                 timeout: float = 120) -> tuple[int, str, list[Path]]:
    """`python -m pytest testplans/core ARGS` from the repository, as a lab engineer types it
    (its own cache folder); (exit code, output, run directories made)."""
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "pytest", "testplans/core", *args, "--runs-dir", str(runs),
           "-o", f"cache_dir={tmp_path / 'cache'}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"pytest {args} still running after {timeout} s: "
                             f"{out[-3000:]}") from None
    dirs = sorted(p for p in runs.glob("*") if p.is_dir()) if runs.exists() else []
    return proc.returncode, out, dirs


def test_plain_pytest_makes_the_run_bench_run_makes(tmp_path, real_parts) -> None:
    rc, out, dirs = plain_pytest(tmp_path, "--rig", "rigs/sim.toml", "-k", "TC_010", "-x", "-v")
    assert rc == EXIT_OK, out
    assert "test_tc_010_cs.py::test_tc_010_cs" in out and "PASSED" in out, out  # pytest's -v
    assert "TC_010_CS    +   0.0s start (case 1 of 1)" in out, out  # the bench's progress
    [run_dir] = dirs
    run = load_run(run_dir)
    assert run.meta["status"] == "complete" and run.meta["runner"] == "pytest"
    assert run.meta["selected"] == ["TC_010_CS"]
    assert [(v["case"], v["verdict"]) for v in run.verdicts] == [("TC_010_CS", "PASS")]
    assert run_verdict(run).exit_code == EXIT_OK
    for name in ("report.html", "junit.xml", "summary.json", "pytest-junit.xml",
                 "pytest-report.html", "snapshots/station_config_start.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "summary.json").read_text("utf-8"))["exit_code"] == EXIT_OK
    assert [e for e in run.events if e["kind"] == "safe_state" and e["name"] == "done"]
    stopped = [e for e in run.events if e["name"] == "sim-stopped"]
    assert stopped, "the simulated rig was not stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(stopped[0]["detail"]["pid"], 0)


def test_pdb_then_last_failed_rerun_only_the_failed_case(tmp_path, real_parts) -> None:
    """A station that sends the wrong stop reason fails TC_012 (the debugger opens on it);
    --lf then runs TC_012 alone, in a run directory of its own."""
    selection = ["--rig", "rigs/sim.toml", "-k", "TC_012 or TC_003", "--no-reports",
                 "--fault", "wrong_stop_reason"]
    rc, out, dirs = plain_pytest(tmp_path, *selection, "--pdb", stdin="c\n")
    assert rc == EXIT_FAIL, out
    assert "(Pdb)" in out and "StationNonConformance" in out, out
    verdicts = {v["case"]: v["verdict"] for v in load_run(dirs[-1]).verdicts}
    assert verdicts == {"TC_003_CS": "PASS", "TC_012_CS": "FAIL"}, out

    rc, out, dirs = plain_pytest(tmp_path, *selection, "--lf")
    assert rc == EXIT_FAIL, out
    assert len(dirs) == 2, dirs
    run = load_run(dirs[-1])
    assert run.meta["selected"] == ["TC_012_CS"], out
    assert [(v["case"], v["verdict"]) for v in run.verdicts] == [("TC_012_CS", "FAIL")]
    assert "reason" in run.verdicts[0]["message"], run.verdicts[0]


def test_collect_only_lists_the_plan_and_brings_nothing_up(tmp_path) -> None:
    rc, out, dirs = plain_pytest(tmp_path, "--rig", "rigs/sim.toml", "--co", "-q")
    assert rc == EXIT_OK, out
    assert "testplans/core/test_tc_001_cs.py::test_tc_001_cs" in out, out
    assert dirs == [], "--co wrote a run directory"
    assert "CSMS listening" not in out


def test_bad_input_is_a_usage_error_and_writes_nothing(tmp_path) -> None:
    rc, out, dirs = plain_pytest(tmp_path, "--rig", "rigs/sim.toml", "--cases", "TC_999_CS")
    assert rc == EXIT_USAGE, out
    assert "bench: no such case(s) in the suites of plan core" in out and "TC_999_CS" in out
    assert dirs == []


def test_without_rig_the_plugin_stays_out(pytester: pytest.Pytester) -> None:
    """The bench's own tests and any other session: no fixtures, no run, only its options."""
    pytester.makepyfile(test_plain="""
        def test_plain():
            assert True

        def test_wants_case(case):
            pass
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'case' not found*"])
    assert not (pytester.path / "runs").exists()
    help_text = pytester.runpytest_inprocess("--help", "-p", "no:asyncio").stdout.str()
    assert "--rig=BENCH_RIG" in help_text and "active with --rig" in help_text

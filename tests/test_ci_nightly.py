"""The nightly recipe of the README: its GitLab CI and GitHub Actions examples are valid YAML
that run scripts/nightly.sh, publish the JUnit file and keep the run directory; the script
itself runs two simulated nights end to end (run, compare with the last night, history)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Nightly regression on the rig"


def readme_yaml() -> list[dict]:
    text = (REPO / "README.md").read_text("utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def test_the_gitlab_and_github_examples_load_and_do_the_nightly_job():
    gitlab, github = readme_yaml()
    job = gitlab["nightly"]
    assert job["tags"] == ["hil-room1"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert job["script"][-1] == "scripts/nightly.sh"
    out = job["variables"]["OUT"]
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["paths"] == [f"{out}/"]
    assert job["artifacts"]["reports"]["junit"] == f"{out}/run/junit.xml"
    assert (REPO / job["variables"]["RIG"]).parent == REPO / "rigs"

    triggers = github.get("on", github.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": "0 21 * * *"}]
    nightly = github["jobs"]["nightly"]
    assert nightly["runs-on"][0] == "self-hosted"
    steps = nightly["steps"]
    assert {"run": "scripts/nightly.sh"} in steps
    kept = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert kept["if"] == "always()" and kept["with"]["path"] == f"{nightly['env']['OUT']}/"
    junit = next(s for s in steps if "junit" in s.get("uses", ""))
    assert junit["with"]["report_paths"] == f"{nightly['env']['OUT']}/run/junit.xml"
    assert os.access(REPO / "scripts" / "nightly.sh", os.X_OK)


def nightly(tmp_path: Path, out: str) -> subprocess.CompletedProcess:
    # TC_019_CS presents no card: the simulated card reader's poll phase makes card timings
    # differ by 0.2 s between runs, which a two-run compare reads as a regression
    env = {**os.environ, "RIG": "rigs/sim.toml", "RUNS": str(tmp_path / "runs"),
           "OUT": str(tmp_path / out), "CASES": "TC_019_CS",
           "PLAN": str(tmp_path / "fast.toml"), "BENCH": str(Path(sys.executable).parent / "bench")}
    return subprocess.run(["bash", str(REPO / "scripts" / "nightly.sh")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_nightly_script_runs_compares_with_the_last_night_and_draws_the_history(
        tmp_path, pcscd_binary, vpcd_driver):
    from test_plans_support import fast_plan

    fast_plan(tmp_path)
    first = nightly(tmp_path, "night1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "first night in" in first.stdout and "nothing to compare with" in first.stdout
    assert (tmp_path / "night1" / "run" / "junit.xml").is_file()
    assert (tmp_path / "night1" / "history.html").is_file()
    second = nightly(tmp_path, "night2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "bench compare:" in second.stdout and "no regression" in second.stdout
    assert "rig sim: 2 nights" in second.stdout
    assert "nightly: bench run 0, compare 0, history 0 -> exit 0" in second.stdout
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert (tmp_path / "night2" / "run" / "run.json").is_file() and len(runs) == 2
    assert (tmp_path / "night2" / "compare.html").is_file()

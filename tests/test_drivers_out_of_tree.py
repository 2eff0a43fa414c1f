"""A lab's own driver package, built here as a distribution outside the bench, drives a rig
through `bench check` and a case of `bench run`: its EV emulator wraps the Modbus twin (with a
key and a safe-state step of its own), its SCPI dialect reads the meter twin. Nothing of the
bench is edited and nothing is installed into the project's venv: the package sits in a
temporary folder on the subprocesses' PYTHONPATH."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lab_driver_support import LAB_DISTRIBUTION, write_lab_package
from test_plans_support import fast_plan

from bench.record.reader import load_run
from sim.testing import SimRigProcess

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def lab_rig(folder: Path) -> Path:
    """rigs/sim.toml with the lab's EV emulator on connector 1 and its dialect on the meter."""
    text = (ROOT / "rigs" / "sim.toml").read_text("utf-8")
    ev1 = re.search(r"\[instruments\.ev1\]\ndriver = \"modbus-ev\"\n", text)
    assert ev1 is not None
    text = text.replace(ev1.group(0), '[instruments.ev1]\ndriver = "lab-ev"\n'
                        'asset_tag = "LAB-0042"\n')
    text = text.replace('dialect = "generic"', 'dialect = "lab-scpi"')
    path = folder / "lab-rig.toml"
    path.write_text(text, "utf-8")
    return path


def bench(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"bench {args} still running after {timeout} s: {out} {err}"
                             ) from None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.fixture
def lab_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    write_lab_package(site)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def test_a_lab_driver_package_is_listed_and_checked(tmp_path: Path, lab_env: dict[str, str],
                                                     pcscd_binary: str, vpcd_driver: str) -> None:
    listed = bench(lab_env, "check", "--list-drivers")
    assert listed.returncode == 0, listed.stderr
    assert "lab-ev: ev (EvEmulator, one per connector) - the lab's EV emulator" in listed.stdout
    assert f"from distribution {LAB_DISTRIBUTION} 0.1 (entry point [bench.drivers] lab-ev = " \
           "lab_bench_drivers:LAB_EV)" in listed.stdout
    assert "asset_tag (str, required): the lab's inventory number" in listed.stdout
    assert "dialect lab-scpi (scpi-meter)" in listed.stdout
    assert "UNUSABLE" not in listed.stdout

    rig = lab_rig(tmp_path)
    endpoints = tmp_path / "endpoints.json"
    with SimRigProcess(["--rig", str(rig), "--no-station", "--endpoints-file", str(endpoints)],
                       cwd=ROOT, env=lab_env):
        checked = bench(lab_env, "check", "--rig", str(rig), "--endpoints-file", str(endpoints),
                        "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rows = {r["name"]: r for r in json.loads(checked.stdout)}
    assert rows["ev1"]["driver"] == "lab-ev" and rows["ev1"]["ok"]
    assert rows["ev1"]["identity"] == "LAB-EV LAB-0042 (bench-ev map v1)"  # the twin answered
    assert rows["meter"]["details"]["dialect"] == "lab-scpi" and rows["meter"]["ok"]

    # without the package the same rig is refused by name, before anything is touched
    plain = {k: v for k, v in lab_env.items() if k != "PYTHONPATH"}
    refused = bench(plain, "check", "--rig", str(rig))
    assert refused.returncode == 2
    assert "[instruments.ev1] driver = 'lab-ev': unknown driver 'lab-ev'" in refused.stderr


def test_a_lab_driver_runs_a_case_and_its_safe_state(tmp_path: Path, lab_env: dict[str, str],
                                                     pcscd_binary: str, vpcd_driver: str) -> None:
    runs = tmp_path / "runs"
    res = bench(lab_env, "run", "--plan", str(fast_plan(tmp_path)), "--rig",
                str(lab_rig(tmp_path)), "--cases", "TC_003_CS", "--runs-dir", str(runs))
    run_dir = sorted(runs.glob("*"))[-1]
    assert res.returncode == 0, res.stdout + res.stderr
    run = load_run(run_dir)
    assert [(v["case"], v["verdict"]) for v in run.verdicts] == [("TC_003_CS", "PASS")]
    instruments = {i["name"]: i for i in run.snapshots["instruments"]}
    assert instruments["ev1"]["driver"] == "lab-ev"
    assert instruments["ev1"]["identity"].startswith("LAB-EV LAB-0042")
    assert instruments["meter"]["details"]["dialect"] == "lab-scpi"
    # the case drove the lab's EV: its plug-in and charging verbs, then its own safe state
    verbs = [e for e in run.events if e["kind"] == "verb" and e["case"] == "TC_003_CS"]
    assert any(v["name"] == "plug_in" and v["detail"]["readback"]["plugged"] for v in verbs)
    steps = [e for e in run.events if e["kind"] == "safe_state"]
    released = [e for e in steps if e["name"] == "ev1.released"]
    assert len(released) == 2 and all(e["detail"]["ok"] for e in released)  # start, end
    assert released[-1]["detail"]["readback"]["asset_tag"] == "LAB-0042"
    assert not any(e["name"].startswith("ev1.unplugged") for e in steps)
    assert any(e["name"] == "ev2.unplugged" for e in steps)  # the bench's own, beside it
    # the lab dialect started the reference integrator the energy comparison read
    own = {m["name"]: m for m in run.measurements if m["case"] == "TC_003_CS"}
    assert own["energy.deviation"]["outcome"] == "PASS", own["energy.deviation"]

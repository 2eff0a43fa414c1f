"""Each behaviour profile of the station simulator leaves the cases it names PASSing.

A behaviour (`bench sim --behaviour NAME`, via `bench run --behaviour NAME`) is conformant
but unusual; the bench must judge it by the OCPP text, not by what our default simulator
does. For each behaviour every case in its `passes` must PASS, and its row in EXERCISED must
find in the run record that the behaviour really happened (else the PASS proves nothing).
Every behaviour needs that row. One `bench run` per (behaviour, case), a few at a time.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_plans_support import REPO, BenchRunResult, bench_run, fast_plan

from bench.record.reader import RunData, load_run
from sim.station.behaviours import BEHAVIOURS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PARALLEL_RUNS = 3
HEARTBEAT_S, TOLERANCE_S = 2.0, 0.25  # test_plans_support.FAST_PLAN


def heartbeat_rig(folder: Path) -> Path:
    """rigs/sim.toml with ClockAlignedDataInterval 3 s: main-meter MeterValues land inside
    every Heartbeat window of the fast plan (interval 2 s)."""
    station = folder / "station.toml"
    station.write_text("[keys]\nClockAlignedDataInterval = 3\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "heartbeat-rig.toml"
    rig.write_text(text, "utf-8")
    return rig


def station_calls(run: RunData) -> list[dict[str, Any]]:
    return [f for f in run.frames if f["direction"] == "in" and f["msg_type"] == 2]


def skipped_after_meter_values(run: RunData) -> str | None:
    """A Heartbeat that came an interval after a main-meter MeterValues, more than
    interval + tolerance after the Heartbeat before it (the one the MeterValues replaced)."""
    calls = [f for f in station_calls(run) if f["action"] in ("Heartbeat", "MeterValues")]
    beats = [f for f in calls if f["action"] == "Heartbeat"]
    for a, b in itertools.pairwise(beats):
        between = [f for f in calls if a["seq"] < f["seq"] < b["seq"]]
        if (between and all(json.loads(f["raw"])[3].get("connectorId") == 0 for f in between)
                and (b["mono_ns"] - a["mono_ns"]) / 1e9 > HEARTBEAT_S + TOLERANCE_S):
            return None
    return "no Heartbeat skipped after main-meter MeterValues"


def queued_on_reconnect(run: RunData) -> str | None:
    """After the network cut: a Heartbeat at once on the new connection (the default station
    waits an interval), and, unless other PDUs came between, the next one less than an
    interval after it (the cadence from before the cut)."""
    cut = next((e for e in run.events if e["kind"] == "connection" and e["name"] == "cut"), None)
    if cut is None:
        return "no network cut in the run"
    opened = next((e for e in run.events if e["kind"] == "connection"
                   and e["name"] == "connected" and e["seq"] > cut["seq"]), None)
    if opened is None:
        return "no reconnection after the cut"
    calls = [f for f in station_calls(run) if f["seq"] > opened["seq"]]
    beats = [f for f in calls if f["action"] == "Heartbeat"][:2]
    if len(beats) < 2:
        return "fewer than two Heartbeats after the reconnection"
    early = (beats[0]["mono_ns"] - opened["mono_ns"]) / 1e9
    if early > 0.5:
        return f"first Heartbeat {early:.3f} s after the reconnection (not queued)"
    others = [f for f in calls if beats[0]["seq"] < f["seq"] < beats[1]["seq"]]
    cadence = (beats[1]["mono_ns"] - beats[0]["mono_ns"]) / 1e9
    if not others and cadence >= HEARTBEAT_S:
        return f"the Heartbeat after the queued one came {cadence:.3f} s later (cadence lost)"
    return None


# behaviour -> (rig builder or None, {case: check of the record -> None or what is missing})
EXERCISED: dict[str, tuple[Callable[[Path], Path] | None,
                           dict[str, Callable[[RunData], str | None]]]] = {
    "heartbeat_skips_and_queues": (heartbeat_rig, {
        "TC_001_CS": skipped_after_meter_values,
        "TC_002_CS": skipped_after_meter_values,
        "TC_035_CS": lambda run: skipped_after_meter_values(run) or queued_on_reconnect(run),
    }),
}


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def behaviour_runs(tmp_path_factory) -> dict[tuple[str, str], BenchRunResult]:
    jobs = [(b, c) for b in sorted(BEHAVIOURS) for c in BEHAVIOURS[b].passes]
    folders = {job: tmp_path_factory.mktemp(f"{job[0]}-{job[1]}") for job in jobs}

    def run(job: tuple[str, str]) -> BenchRunResult:
        behaviour, case = job
        tmp = folders[job]
        make_rig = EXERCISED.get(behaviour, (None, {}))[0]
        rig = ["--rig", str(make_rig(tmp))] if make_rig else []
        return bench_run(tmp, "--plan", str(fast_plan(tmp)), "--cases", case,
                         "--behaviour", behaviour, *rig, "--no-reports", timeout=240)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {job: pool.submit(run, job) for job in jobs}
    return {job: f.result() for job, f in futures.items()}


@pytest.mark.parametrize(("behaviour", "case"),
                         [(b, c) for b in sorted(BEHAVIOURS) for c in BEHAVIOURS[b].passes])
def test_behaviour_passes_its_cases(behaviour: str, case: str, real_parts,
                                    behaviour_runs: dict[tuple[str, str], BenchRunResult]) -> None:
    assert behaviour in EXERCISED, f"behaviour {behaviour} has no EXERCISED row: add one"
    checks = EXERCISED[behaviour][1]
    assert case in checks, f"{behaviour}: no check that it showed in {case}"
    res = behaviour_runs[(behaviour, case)]
    v = res.verdicts()[case]
    assert v["verdict"] == "PASS", v["message"]
    assert res.rc == 0, res.stdout + res.stderr
    run = load_run(res.run_dir)
    assert run.meta["behaviours"] == [behaviour]
    missing = checks[case](run)
    assert missing is None, f"{behaviour} did not show in {case}: {missing}"


def test_bench_run_refuses_an_unknown_behaviour(tmp_path: Path) -> None:
    res = bench_run(tmp_path, "--cases", "TC_001_CS", "--behaviour", "polite_station")
    assert res.rc == 2
    assert "polite_station" in res.stderr and "heartbeat_skips_and_queues" in res.stderr


def test_bench_sim_lists_every_behaviour() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.cli", "sim", "--list-behaviours"],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for b in BEHAVIOURS.values():
        line = next(x for x in out.stdout.splitlines() if x.startswith(b.name))
        assert all(c in line for c in b.passes) and "allowed by" in line

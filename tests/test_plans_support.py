"""Helpers of the test-plan tests (no tests here): a real CSMS on loopback with an in-process
station simulator connected over a real websocket, a BenchContext on a bench loop, and a way to
run case modules through the bench plugin with pytester."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.config.rig import Rig, load_rig
from bench.csms import Csms
from bench.plugin import BenchContext, BenchPlugin
from bench.plugin.limits import LimitMap
from bench.plugin.loop import BenchLoop
from bench.plugin.plan import Plan, effective_settings
from bench.record import RunRecord
from bench.record.reader import load_run
from bench.record.verdict import run_verdict

REPO = Path(__file__).resolve().parents[1]
SIM_RIG = REPO / "rigs" / "sim.toml"


def sim_rig(**hardware: Any) -> Rig:
    rig = load_rig(SIM_RIG)
    if hardware:
        rig = dataclasses.replace(rig, hardware={**rig.hardware, **hardware})
    return rig


@dataclasses.dataclass
class PlanEnv:
    ctx: BenchContext
    record: RunRecord

    def verdicts(self) -> dict[str, dict[str, Any]]:
        return {v["case"]: v for v in load_run(self.record.path).verdicts}

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return self.ctx.loop.run(coro, timeout)


@contextlib.contextmanager
def plan_env(tmp_path: Path, settings: dict[str, Any] | None = None,
             station: bool = True, rig: Rig | None = None) -> Iterator[PlanEnv]:
    """A CSMS (ephemeral port) and, with station=True, the simulated SmartDC booted on it.
    rig: another rig than rigs/sim.toml (e.g. without some instrument)."""
    from sim.model import RigModel
    from sim.station.config import StationConfig
    from sim.station.station import StationSimulator

    rig = rig or sim_rig()
    plan = Plan(name="test", suites=[], settings={"message_timeout_s": 3, "boot_timeout_s": 10,
                                                  "settle_timeout_s": 5, **(settings or {})})
    record = RunRecord.create(tmp_path / "runs", "plans-test")
    loop = BenchLoop()
    csms = Csms.from_rig(rig, record, port=0)
    ctx = BenchContext(rig=rig, plan=plan, settings=effective_settings(rig.pics, plan, True),
                       record=record, loop=loop, limits=LimitMap.load(),
                       settings_source="rigs/sim.toml [pics]", csms=csms)
    sim_task: list[asyncio.Task[Any]] = []

    async def up() -> None:
        await csms.start()
        if station:
            model = RigModel(connectors=rig.station.connectors)
            sim = StationSimulator(StationConfig.smartdc(), model, None,
                                   f"{csms.url}/{rig.station.id}")
            sim_task.append(asyncio.create_task(sim.run()))
            ctx.station = await csms.wait_for_station(rig.station.id, timeout=10)
        else:
            ctx.station = csms.station(rig.station.id)

    async def down() -> None:
        for t in sim_task:
            t.cancel()
        await asyncio.gather(*sim_task, return_exceptions=True)
        await csms.stop()

    loop.run(up(), 30)
    try:
        yield PlanEnv(ctx, record)
    finally:
        with contextlib.suppress(Exception):
            loop.run(down(), 15)
        loop.close()
        record.close()


def run_cases(pytester: Any, env: PlanEnv, **modules: str) -> Any:
    """Write case modules into pytester's folder and run them through the bench plugin."""
    pytester.makepyfile(**modules)
    plugin = BenchPlugin(env.ctx)
    result = pytester.runpytest_inprocess("-p", "no:asyncio", "-p", "no:cacheprovider",
                                          "-p", "no:randomly", plugins=[plugin])
    plugin.finalize()
    return result


# -- `bench run` as a subprocess -------------------------------------------------------------

FAST_PLAN = """
name = "fast"
description = "Core cases with the shortest intervals the simulated station keeps to"
suites = ["core"]

[sim_settings]
meter_value_sample_interval_s = 2
heartbeat_interval_s = 2
boot_retry_interval_s = 2
power_off_s = 0.5
connection_timeout_s = 6
interval_tolerance_s = 0.25
max_time_deviation_s = 1
clock_aligned_data_interval_s = 3
message_timeout_s = 4
boot_timeout_s = 8
settle_timeout_s = 8
ev_current_a = 200
ev_voltage_v = 800
"""


@dataclasses.dataclass
class BenchRunResult:
    rc: int
    stdout: str
    stderr: str
    run_dir: Path | None

    def verdicts(self) -> dict[str, dict[str, Any]]:
        assert self.run_dir is not None, self.stdout + self.stderr
        return {v["case"]: v for v in load_run(self.run_dir).verdicts}


def fast_plan(tmp_path: Path) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text(FAST_PLAN, "utf-8")
    return path


def bench_run(tmp_path: Path, *args: str, timeout: float = 120) -> BenchRunResult:
    """`bench run ARGS --runs-dir tmp/runs` in its own process group, reaped on any outcome."""
    import os
    import signal
    import subprocess
    import sys

    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", *args,
                             "--runs-dir", str(runs)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"bench run {args} still running after {timeout} s; "
                             f"output: {out[-2000:]} {err[-2000:]}") from None
    dirs = sorted(runs.glob("*")) if runs.exists() else []
    return BenchRunResult(proc.returncode, out, err, dirs[-1] if dirs else None)


def assert_fault_caught(res: BenchRunResult, case: str, text: str) -> None:
    """A fault's run FAILed `case` with a message holding `text`, by its exit code too, and the
    one verdict the reports compute from the record says the same."""
    v = res.verdicts()[case]
    assert v["verdict"] == "FAIL", v
    assert text in v["message"], v["message"]
    assert res.rc == 1, res.stdout + res.stderr
    judged = run_verdict(load_run(res.run_dir))
    assert (judged.verdict, judged.exit_code) == ("FAIL", res.rc)
    assert judged.case(case).verdict == "FAIL"


def bench_run_sigterm_while_charging(runs: Path, *args: str,
                                     timeout: float = 60) -> tuple[int, str]:
    """`bench run ARGS --runs-dir RUNS`, cut off by SIGTERM once a case has started charging
    (the EV verb is in the record); returns (exit code, output). Always reaped."""
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", *args,
                             "--runs-dir", str(runs)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = list(runs.glob("*/events.jsonl"))
            if events and "ev_start_charging" in events[0].read_text("utf-8"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"bench run {args}: no case started charging within "
                                 f"{timeout} s")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, out

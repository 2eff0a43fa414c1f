"""`bench run`: run a test plan against the rig's station and write the run directory.

Order: rig and plan -> run record (+ snapshots) -> CSMS -> (simulated rig: `bench sim`
subprocess on ephemeral ports) -> instruments activated -> station booted -> its
configuration snapshot -> the cases (pytest in-process with the bench plugin) -> safe state
-> sim stopped -> record closed -> reports. Whatever ends the run (pass, fail, exception,
Ctrl-C, SIGTERM), safe state runs and run.json says how it ended. Exit 0 only if every
applicable case passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config.rig import Rig, RigError, load_rig
from bench.plugin.context import BenchContext
from bench.plugin.limits import LimitError, LimitMap
from bench.plugin.loop import BenchLoop
from bench.plugin.plan import (
    TESTPLANS_DIR,
    Plan,
    PlanError,
    case_index,
    effective_settings,
    load_plan,
)
from bench.plugin.plugin import BenchPlugin
from bench.plugin.progress import Progress
from bench.record import RunRecord, Verdict

REPO = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SIM_READY_TIMEOUT_S = 60.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench run", description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", default="core", help="plan name (testplans/plans) or .toml path")
    p.add_argument("--rig", type=Path, default=Path("rigs/sim.toml"), help="rig file")
    p.add_argument("--cases", default="", help="comma-separated case ids (default: the plan's)")
    p.add_argument("--repeat", type=int, default=None, help="run each case N times")
    p.add_argument("--runs-dir", type=Path, default=None, help="where run directories go")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="station fault profile (simulated rig only; passed to bench sim)")
    p.add_argument("--no-reports", action="store_true", help="skip building report.html")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        rig = load_rig(args.rig)
        plan = load_plan(args.plan)
        limits = LimitMap.load()
    except (RigError, PlanError, LimitError) as exc:
        print(f"bench run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.fault and rig.simulator is None:
        print(f"bench run: --fault works only with a simulated rig ({args.rig} has no "
              "[simulator] table)", file=sys.stderr)
        return EXIT_USAGE
    if args.fault:
        from sim.station.faults import check_fault_names

        try:
            check_fault_names(args.fault)
        except ValueError as exc:
            print(f"bench run: --fault: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.repeat is not None and args.repeat < 1:
        print("bench run: --repeat must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    cases = [c.strip().upper() for c in args.cases.split(",") if c.strip()]
    known = case_index(plan)
    unknown = [c for c in cases + plan.cases if c not in known]
    if unknown:
        print(f"bench run: no such case(s) in the suites of plan {plan.name} "
              f"({', '.join(plan.suites)}): {', '.join(unknown)}; known: "
              f"{', '.join(sorted(known))}", file=sys.stderr)
        return EXIT_USAGE
    runs_dir = args.runs_dir or Path(rig.bench.get("runs_dir", "runs"))
    return Run(rig, plan, limits, runs_dir, cases, args.repeat, args.fault,
               not args.no_reports).execute()


class Run:
    def __init__(self, rig: Rig, plan: Plan, limits: LimitMap, runs_dir: Path,
                 cases: list[str], repeat: int | None, faults: list[str],
                 reports: bool) -> None:
        self.rig, self.plan, self.limits = rig, plan, limits
        self.cases, self.repeat, self.faults, self.reports = cases, repeat, faults, reports
        self.simulated = rig.simulator is not None
        self.settings = effective_settings(rig.pics, plan, self.simulated)
        self.progress = Progress()
        self.record = RunRecord.create(
            runs_dir, plan.name, rig=str(rig.path), plan=plan.name,
            station_id=rig.station.id, simulated=self.simulated, cases=cases or plan.cases,
            faults=faults, repeat=repeat or plan.repeat, operator=rig.bench.get("operator"))
        self.loop: BenchLoop | None = None
        self.sim: subprocess.Popen[bytes] | None = None
        self.csms: Any = None
        self.bench: Any = None
        self.plugin: BenchPlugin | None = None

    # -- the run ---------------------------------------------------------------------------
    def execute(self) -> int:
        status, pytest_rc = "error", None
        from bench.safestate import sigterm_as_keyboard_interrupt

        self.progress.note(f"run {self.record.path}")
        try:
            with sigterm_as_keyboard_interrupt() as interrupted:
                try:
                    self._snapshots()
                    self.loop = BenchLoop()
                    ctx = self._bring_up()
                    pytest_rc = self._run_cases(ctx)
                    status = "interrupted" if pytest_rc == 2 or interrupted else "complete"
                except KeyboardInterrupt:
                    status = "interrupted"
                    self.progress.note(f"interrupted ({interrupted.signal or 'Ctrl-C'})")
                except Exception as exc:
                    status = "error"
                    self.record.event("log", "run-error", error=f"{type(exc).__name__}: {exc}")
                    self.progress.note(f"bench run: {type(exc).__name__}: {exc}")
                finally:
                    self._shut_down()
        except KeyboardInterrupt:  # a second signal during shut-down: finish closing anyway
            status = "interrupted"
        self.record.close(status)
        report = self._build_reports()
        verdicts = self.plugin.verdicts if self.plugin else []
        self.progress.note(f"{status}: {self.progress.summary() or 'no verdicts'}")
        print(report or self.record.path, flush=True)
        ok = (status == "complete" and verdicts
              and all(v.verdict in (Verdict.PASS, Verdict.NA) for v in verdicts))
        if status == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_OK if ok else EXIT_FAILED

    def _snapshots(self) -> None:
        rec = self.record
        rec.snapshot("rig", self.rig.redacted())
        rec.snapshot("pics", self.rig.pics)
        rec.snapshot("hardware", self.rig.hardware)
        rec.snapshot("non_ocpp_config", self.rig.non_ocpp_config)
        rec.snapshot("plan", {**self.plan.as_dict(), "cases_selected": self.cases,
                              "settings_effective": self.settings,
                              "limits_file": str(self.limits.path)})

    def _bring_up(self) -> BenchContext:
        from bench.csms import Csms
        from bench.verbs import Bench

        assert self.loop is not None
        overrides = {"port": 0} if self.simulated else {}
        self.csms = Csms.from_rig(self.rig, self.record, **overrides)
        self.loop.run(self.csms.start(), 30, "CSMS start")
        self.progress.note(f"CSMS listening on {self.csms.url}")
        rig = self.rig
        if self.simulated:
            rig = rig.with_ports(self._start_sim(self.csms.url))
            self.record.snapshot("rig", rig.redacted())
        source = f"{self.rig.path} [pics]" + (f" + plan {self.plan.name} [sim_settings]"
                                              if self.simulated and self.plan.sim_settings
                                              else "")
        ctx = BenchContext(rig=rig, plan=self.plan, settings=self.settings,
                           record=self.record, loop=self.loop, limits=self.limits,
                           settings_source=source, csms=self.csms, progress=self.progress)
        self.bench = Bench.from_rig(rig, self.record, self.csms)
        ctx.bench = self.bench
        self.loop.run(self.bench.activate(), 60, "instrument activation")
        # A known state before the first case: a lab rig may have been left plugged or powered.
        from bench.safestate import bring_to_safe_state

        initial = self.loop.run(bring_to_safe_state(self.bench, self.record), 60,
                                "initial safe state")
        if not initial.ok:
            self.progress.note("initial safe state incomplete: "
                               + ", ".join(s.step for s in initial.failed))
        boot_s = float(self.settings["boot_timeout_s"])
        self.progress.note(f"waiting up to {boot_s:.0f} s for station {rig.station.id} to boot")
        try:
            ctx.station = self.loop.run(
                self.csms.wait_for_station(rig.station.id, timeout=boot_s, boot=True),
                boot_s + 10, "station boot")
        except Exception as exc:
            ctx.boot_error = f"station {rig.station.id} did not boot: {exc}"
            ctx.station = self.csms.station(rig.station.id)
            self.record.event("log", "boot-failed", error=ctx.boot_error)
            self.progress.note(ctx.boot_error)
            return ctx
        self.bench.attach_station(ctx.station)
        ctx.station_config = self._station_config(ctx.station, "station_config_start")
        return ctx

    def _station_config(self, station: Any, name: str) -> list[dict[str, Any]] | None:
        assert self.loop is not None
        try:
            res = self.loop.run(station.call("GetConfiguration", {}), 60, "GetConfiguration")
        except Exception as exc:
            self.record.event("log", f"{name}-failed", error=f"{type(exc).__name__}: {exc}")
            return None
        keys = res.get("configurationKey", []) or []
        self.record.snapshot(name, keys)
        return keys

    def _start_sim(self, csms_url: str) -> dict[str, Any]:
        # absolute: the sim runs in the repository, the bench in the caller's folder
        endpoints_file = (self.record.path / "sim-endpoints.json").resolve()
        log_path = self.record.path / "sim.log"
        cmd = [sys.executable, "-m", "bench.cli", "sim", "--rig", str(self.rig.path.resolve()),
               "--ephemeral", "--csms-url", csms_url, "--endpoints-file", str(endpoints_file)]
        for fault in self.faults:
            cmd += ["--fault", fault]
        log = open(log_path, "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # its own session: Ctrl-C reaches the bench, which stops the sim after safe state
        self.sim = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                    env=env, start_new_session=True)
        log.close()
        self.record.event("log", "sim-started", pid=self.sim.pid, cmd=cmd[1:])
        deadline = time.monotonic() + SIM_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if endpoints_file.exists():
                with contextlib.suppress(json.JSONDecodeError):
                    endpoints = json.loads(endpoints_file.read_text("utf-8"))
                    self.record.event("log", "sim-ready", endpoints=endpoints)
                    self.progress.note(f"simulated rig up (pid {self.sim.pid})")
                    return endpoints
            if self.sim.poll() is not None:
                raise RuntimeError(f"bench sim exited with {self.sim.returncode} before it was "
                                   f"ready; last output: {_tail(log_path)}")
            time.sleep(0.05)
        raise TimeoutError(f"bench sim not ready within {SIM_READY_TIMEOUT_S:.0f} s (no "
                           f"{endpoints_file.name}); last output: {_tail(log_path)}")

    def _run_cases(self, ctx: BenchContext) -> int:
        import pytest

        self.plugin = BenchPlugin(ctx, cases=self.cases or None, repeat=self.repeat)
        run_dir = self.record.path
        args = [*(str(p) for p in self.plan.paths()),
                "-c", str(TESTPLANS_DIR / "pytest.ini"), "--rootdir", str(REPO),
                "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:timeout",
                "-p", "no:terminal",
                f"--html={run_dir / 'pytest-report.html'}", "--self-contained-html",
                f"--junitxml={run_dir / 'pytest-junit.xml'}"]
        self.record.event("log", "pytest", args=args)
        rc = int(pytest.main(args, plugins=[self.plugin]))
        self.plugin.finalize()
        if rc in (3, 4):
            raise RuntimeError(f"pytest could not run the cases (exit {rc}); see the record")
        if ctx.station is not None and ctx.boot_error is None:
            self._station_config(ctx.station, "station_config_end")
        return rc

    # -- shut-down: every step on its own, safe state first ----------------------------------
    def _shut_down(self) -> None:
        loop = self.loop
        if loop is not None and loop.running and self.bench is not None:
            from bench.safestate import bring_to_safe_state

            self.progress.note("safe state")
            try:
                report = loop.run(bring_to_safe_state(self.bench, self.record), 60, "safe state")
                if not report.ok:
                    self.progress.note("safe state incomplete: "
                                       + ", ".join(s.step for s in report.failed))
            except BaseException as exc:  # recorded; never hides the run's outcome
                self.record.event("safe_state", "error", ok=False,
                                  error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(BaseException):
                loop.run(self.bench.deactivate(), 20, "instrument deactivation")
        self._stop_sim()
        if loop is not None and loop.running and self.csms is not None:
            with contextlib.suppress(BaseException):
                loop.run(self.csms.stop(), 10, "CSMS stop")
        if loop is not None:
            loop.close()

    def _stop_sim(self) -> None:
        sim = self.sim
        if sim is None or sim.poll() is not None:
            return
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(20)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait(5)
            self.record.event("log", "sim-killed", pid=sim.pid)
        self.record.event("log", "sim-stopped", pid=sim.pid, returncode=sim.returncode)

    def _build_reports(self) -> Path | None:
        if not self.reports:
            return None
        try:
            from reports import build_reports

            return Path(build_reports(self.record.path))
        except Exception as exc:  # the record stays the truth; say loudly that no report exists
            print(f"bench run: report not built: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

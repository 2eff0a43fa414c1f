"""`bench run`: run a test plan against the rig's station and write the run directory.

Order: rig and plan -> rig lock (not on the simulated rig) -> run record (+ snapshots) ->
CSMS -> (simulated rig: `bench sim` subprocess on ephemeral ports) -> instruments activated
-> station booted -> its configuration snapshot -> the cases (pytest in-process with the
bench plugin) -> safe state -> sim stopped -> record closed -> reports. Whatever ends the run
(pass, fail, exception, Ctrl-C, SIGTERM), safe state runs and run.json says how it ended.

Exit codes (README "Exit codes"): the verdict is bench.record.verdict.run_verdict of the
record, the same function the reports use: 0 every applicable case passed, 1 the station
failed a case, 3 the bench could not judge (ERROR, BLOCKED, cut off; no FAIL); 2 bad input
or usage (nothing run), 4 the run finished but its reports could not be built, 130 Ctrl-C or
SIGTERM.

`--resume RUN_DIR` re-runs the cases of RUN_DIR without a final verdict (bench/plugin/resume.py)
with its plan and rig, appending to its record; the reports are rebuilt from the whole record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config.rig import Rig, RigError, load_rig
from bench.lock import LOCK_DIR_ENV, POLL_S, BenchLock, LockBusy, acquire, rig_resources
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
    plans_with_case,
)
from bench.plugin.plugin import BenchPlugin
from bench.plugin.progress import Progress
from bench.plugin.resume import (
    ResumeError,
    ResumeState,
    finish_resume_entry,
    read_run,
    reopen_record,
)
from bench.record import RunRecord
from bench.record.reader import load_run
from bench.record.verdict import (
    EXIT_INTERRUPTED,
    EXIT_NO_REPORTS,
    EXIT_USAGE,
    RunVerdict,
    run_verdict,
)
from bench.record.writer import git_revision

REPO = Path(__file__).resolve().parents[2]
SIM_READY_TIMEOUT_S = 60.0
RUN_DIR_RESOURCE = ".run-writer"  # a hidden lock file in the run dir


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench run", description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", default=None, help="plan name (testplans/plans) or .toml path "
                   "(default: core)")
    p.add_argument("--rig", type=Path, default=None, help="rig file (default: rigs/sim.toml)")
    p.add_argument("--cases", default="", help="comma-separated case ids (default: the plan's)")
    p.add_argument("--repeat", type=int, default=None, help="run each case N times")
    p.add_argument("--runs-dir", type=Path, default=None, help="where run directories go")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="station fault profile (simulated rig only; passed to bench sim)")
    p.add_argument("--behaviour", action="append", default=[], metavar="NAME",
                   help="conformant-but-unusual station behaviour profile (simulated rig "
                        "only; passed to bench sim; bench sim --list-behaviours)")
    p.add_argument("--no-reports", action="store_true", help="skip building report.html")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="re-run the cases of RUN_DIR without a final PASS/FAIL (ERROR, BLOCKED, "
                        "cut off) with its plan and rig, appending to RUN_DIR")
    p.add_argument("--lock-dir", type=Path, default=None,
                   help=f"where the rig locks live (default: ${LOCK_DIR_ENV} or "
                        "<runs dir>/.locks)")
    p.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to SECONDS for a rig another run holds (default: refuse at once)")
    p.add_argument("--lock", action="store_true",
                   help="take the rig lock even on the simulated rig (tests, a shared sim)")
    return p


def _usage(message: str) -> int:
    print(f"bench run: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.wait_lock < 0:
        return _usage("--wait-lock must be >= 0 seconds")
    resume = None
    if args.resume is not None:
        given = [o for o, v in (("--plan", args.plan), ("--rig", args.rig),
                                ("--cases", args.cases), ("--repeat", args.repeat),
                                ("--fault", args.fault), ("--behaviour", args.behaviour)) if v]
        if given:
            return _usage(f"--resume takes plan, rig, cases, repetitions, faults and "
                          f"behaviours from {args.resume}/run.json; drop {', '.join(given)}")
        try:
            resume = read_run(args.resume, REPO)
        except ResumeError as exc:
            return _usage(str(exc))
        args.plan, args.rig = resume.plan_ref, resume.rig_path
        args.cases, args.repeat, args.fault = ",".join(resume.cases), resume.repeat, resume.faults
        args.behaviour = list(resume.meta.get("behaviours") or [])
    args.plan = args.plan or "core"
    args.rig = args.rig or Path("rigs/sim.toml")
    try:
        rig = load_rig(args.rig)
        plan = load_plan(args.plan)
        limits = LimitMap.load()
    except (RigError, PlanError, LimitError) as exc:
        where = f" (the rig and plan of {args.resume})" if resume else ""
        return _usage(f"{exc}{where}")
    if args.fault and rig.simulator is None:
        return _usage(f"--fault works only with a simulated rig ({args.rig} has no "
                      "[simulator] table)")
    if args.fault:
        from sim.station.faults import check_fault_names

        try:
            check_fault_names(args.fault)
        except ValueError as exc:
            return _usage(f"--fault: {exc}")
    if args.behaviour:
        from sim.station.behaviours import check_behaviour_names

        if rig.simulator is None:
            return _usage(f"--behaviour works only with a simulated rig ({args.rig} has no "
                          "[simulator] table)")
        try:
            check_behaviour_names(args.behaviour)
        except ValueError as exc:
            return _usage(f"--behaviour: {exc}")
    if args.repeat is not None and args.repeat < 1:
        return _usage("--repeat must be >= 1")
    cases = [c.strip().upper() for c in args.cases.split(",") if c.strip()]
    try:
        known = case_index(plan)
    except PlanError as exc:
        return _usage(str(exc))
    unknown = [c for c in cases + plan.cases if c not in known]
    if unknown:
        elsewhere = {c: plans_with_case(c) for c in unknown}
        hints = "".join(f"; {c} is in plan {' or '.join(p)} (--plan {p[0]})"
                        for c, p in elsewhere.items() if p)
        return _usage(f"no such case(s) in the suites of plan {plan.name} "
                      f"({', '.join(plan.suites)}): {', '.join(unknown)}{hints}; known: "
                      f"{', '.join(sorted(known)) or 'none'}")
    run_dir_lock: BenchLock | None = None
    if resume is not None:
        try:  # a run still writing RUN_DIR holds this; two writers would corrupt the record
            run_dir_lock = acquire(resume.run_dir, [RUN_DIR_RESOURCE], run_dir=str(resume.run_dir))
        except LockBusy as exc:
            return _usage(f"--resume {resume.run_dir}: the run is still going: {exc}")
        runs_dir = resume.run_dir.parent
        selection = cases or [c for c in known if c not in plan.exclude]
        cases = resume.to_run(selection)
        if not cases:
            run_dir_lock.release()
            judged = run_verdict(load_run(resume.run_dir))
            print(f"bench run: nothing to resume in {resume.run_dir}: every case has a final "
                  f"verdict; the run's verdict is {judged.verdict}", file=sys.stderr)
            return judged.exit_code
    else:
        runs_dir = args.runs_dir or Path(rig.bench.get("runs_dir", "runs"))
    simulated = rig.simulator is not None
    lock: BenchLock | None = None
    if not simulated or args.lock:
        lock_dir = args.lock_dir or Path(os.environ.get(LOCK_DIR_ENV) or runs_dir / ".locks")
        resources = rig_resources(rig)
        if args.wait_lock:
            print(f"bench run: waiting up to {args.wait_lock:g} s for the rig "
                  f"({', '.join(resources)})", file=sys.stderr, flush=True)
        try:
            lock = acquire(lock_dir, resources, wait_s=args.wait_lock,
                           rig=str(Path(args.rig).resolve()))
        except LockBusy as exc:
            return _usage(f"the rig {args.rig} is in use: {exc}")
        except OSError as exc:
            return _usage(f"cannot take the rig lock in {lock_dir}: {exc}")
    try:
        return Run(rig, plan, limits, runs_dir, cases, args.repeat, args.fault,
                   not args.no_reports, lock=lock, resume=resume,
                   behaviours=args.behaviour).execute()
    finally:
        for held in (lock, run_dir_lock):
            if held is not None:
                held.release()


class Run:
    def __init__(self, rig: Rig, plan: Plan, limits: LimitMap, runs_dir: Path,
                 cases: list[str], repeat: int | None, faults: list[str],
                 reports: bool, lock: BenchLock | None = None,
                 resume: ResumeState | None = None, behaviours: list[str] | None = None) -> None:
        self.rig, self.plan, self.limits = rig, plan, limits
        self.cases, self.repeat, self.faults, self.reports = cases, repeat, faults, reports
        # what the simulated station does: the rig's [simulator] behaviours and --behaviour
        self.behaviours = sorted(set(behaviours or [])
                                 | set(rig.simulator.behaviours if rig.simulator else []))
        self.simulated = rig.simulator is not None
        self.settings = effective_settings(rig.pics, plan, self.simulated)
        self.progress = Progress()
        self.lock, self.resume = lock, resume
        self.resume_n = 0
        self._run_dir_lock: BenchLock | None = None
        if resume is None:
            self.record = RunRecord.create(
                runs_dir, plan.name, rig=str(rig.path), rig_path=str(rig.path.resolve()),
                plan=plan.name, plan_path=str(plan.path.resolve()) if plan.path else None,
                station_id=rig.station.id, simulated=self.simulated, cases=cases or plan.cases,
                faults=faults, behaviours=self.behaviours, repeat=repeat or plan.repeat,
                operator=rig.bench.get("operator"))
            # held for the process's life (released by the kernel): --resume of a live run
            # is refused
            self._run_dir_lock = acquire(self.record.path, [RUN_DIR_RESOURCE])
        else:
            self.record, self.resume_n = reopen_record(
                resume, cases=cases, pid=os.getpid(), git_revision=git_revision())
        self._record_lock()
        self.loop: BenchLoop | None = None
        self.sim: subprocess.Popen[bytes] | None = None
        self.csms: Any = None
        self.bench: Any = None
        self.plugin: BenchPlugin | None = None

    def _suffix(self) -> str:
        """File names of a resumed session: the first session's files stay as they were."""
        return f"-resume{self.resume_n}" if self.resume_n else ""

    def _record_lock(self) -> None:
        rec = self.record
        if self.lock is None:
            why = "simulated rig: it runs on ephemeral ports of its own, nothing to share"
            rec.event("log", "rig-lock-skipped", reason=why)
            rec.update_meta(rig_lock={"taken": False, "reason": why})
            return
        self.lock.set_owner(run_dir=str(rec.path.resolve()))
        rec.event("log", "rig-lock", **self.lock.as_dict())
        rec.update_meta(rig_lock={"taken": True, **self.lock.as_dict()})
        if self.lock.waited_s >= POLL_S:
            self.progress.note(f"rig lock taken after {self.lock.waited_s:.1f} s")

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
        if self.lock is not None and self.lock.lost():
            # someone removed a lock file: another run may have driven the rig meanwhile
            self.record.event("log", "rig-lock-lost", resources=self.lock.lost())
            self.progress.note("rig lock lost (lock file removed): "
                               + ", ".join(self.lock.lost()))
            status = "error" if status == "complete" else status
        if self.resume_n:
            finish_resume_entry(self.record, self.resume_n, status)
        self.record.close(status)
        if self._run_dir_lock is not None:
            self._run_dir_lock.release()
        # the whole record (a resumed run: every session), judged as the reports judge it
        judged = run_verdict(load_run(self.record.path))
        report, report_error = self._build_reports()
        self.progress.note(f"{status}: {self.progress.summary() or 'no verdicts'}; run "
                           f"verdict {judged.verdict}{_differs(judged)}")
        print(report or self.record.path, flush=True)
        if status == "interrupted":
            return EXIT_INTERRUPTED
        if report_error is not None:
            return EXIT_NO_REPORTS
        return judged.exit_code

    def _snapshots(self) -> None:
        rec = self.record
        if self.resume_n:
            # keep what the earlier session(s) saw; reports read snapshots/*.json only
            keep = rec.path / "snapshots" / f"before-resume{self.resume_n}"
            keep.mkdir(exist_ok=True)
            for snap in (rec.path / "snapshots").glob("*.json"):
                shutil.copy2(snap, keep / snap.name)
            rec.event("log", "resumed", n=self.resume_n, cases=self.cases,
                      attempts_before={c: self.resume.attempts(c) for c in self.cases}
                      if self.resume else {}, earlier_snapshots=str(keep))
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
        endpoints_file = (self.record.path / f"sim-endpoints{self._suffix()}.json").resolve()
        endpoints_file.unlink(missing_ok=True)  # READY is its appearance
        log_path = self.record.path / f"sim{self._suffix()}.log"
        cmd = [sys.executable, "-m", "bench.cli", "sim", "--rig", str(self.rig.path.resolve()),
               "--ephemeral", "--csms-url", csms_url, "--endpoints-file", str(endpoints_file)]
        for fault in self.faults:
            cmd += ["--fault", fault]
        for behaviour in self.behaviours:
            cmd += ["--behaviour", behaviour]
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

        attempts_before = {}
        if self.resume is not None:
            ctx.outcomes.update(self.resume.outcomes())
            attempts_before = {c: self.resume.attempts(c) for c in self.cases}
        self.plugin = BenchPlugin(ctx, cases=self.cases or None, repeat=self.repeat,
                                  attempts_before=attempts_before)
        run_dir, sfx = self.record.path, self._suffix()
        args = [*(str(p) for p in self.plan.paths()),
                "-c", str(TESTPLANS_DIR / "pytest.ini"), "--rootdir", str(REPO),
                "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:timeout",
                "-p", "no:terminal",
                f"--html={run_dir / f'pytest-report{sfx}.html'}", "--self-contained-html",
                f"--junitxml={run_dir / f'pytest-junit{sfx}.xml'}"]
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
        if self.plugin is not None:
            with contextlib.suppress(Exception):  # recorded by the servers; never hides a verdict
                self.plugin.ctx.close_files()
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

    def _build_reports(self) -> tuple[Path | None, str | None]:
        """(report.html, None), or (None, why) when the reports could not be built: run.json
        says so (`reports`), and the run exits 4."""
        if not self.reports:
            return None, None
        try:
            from reports import build_reports
            from reports.pdf import PdfError, find_chromium, write_report_pdf

            path = Path(build_reports(self.record.path))
        except Exception as exc:  # the record stays the truth; say loudly that no report exists
            why = f"{type(exc).__name__}: {exc}"
            print(f"bench run: report not built: {why}; rebuild with `bench report "
                  f"{self.record.path}`", file=sys.stderr)
            self.record.update_meta(reports={"built": False, "error": why})
            return None, why
        built: dict[str, Any] = {"built": True, "path": path.name}
        if find_chromium():  # report.pdf for the audit file, where this machine can print
            try:
                built["pdf"] = write_report_pdf(self.record.path).name
            except PdfError as exc:  # the HTML, JUnit and JSON reports stand; say it loudly
                built["pdf_error"] = str(exc)
                print(f"bench run: report.pdf not written: {exc}; retry with `bench report "
                      f"{self.record.path} --pdf`", file=sys.stderr)
        self.record.update_meta(reports=built)
        return path, None


def _differs(judged: RunVerdict) -> str:
    """A note when the record's verdicts differ from the live count (a run-wide measurement
    failed a case after its line was shown, or failed the run-level entry)."""
    changed = [c for c in judged.cases if c.failed_measurements
               and (not c.final or c.final.get("verdict") != c.verdict)]
    if not changed:
        return ""
    return " (" + "; ".join(f"{c.case} {c.verdict} by measurement" for c in changed) + ")"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

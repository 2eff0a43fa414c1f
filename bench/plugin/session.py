"""One run of the bench around pytest, the same for `bench run` and for plain
`pytest testplans/core --rig RIG` (the pytest11 entry point, bench/plugin/entry.py).

Order: run record (+ rig lock noted) -> [pytest collects the cases] -> snapshots -> CSMS ->
(simulated rig: `bench sim` on ephemeral ports) -> pre-flight (every instrument identified,
read-only) -> instruments activated -> initial safe state -> (real rig: the station brought
to a fresh boot) -> station booted -> its configuration snapshot -> the cases -> safe state
-> sim stopped -> record closed -> reports. Whatever ends the run (pass, fail, exception,
Ctrl-C, SIGTERM), safe state runs and run.json says how it ended.

The rig is brought up only when there are cases to run (not for `--co`, not when collection
failed). The run's exit code is bench.record.verdict.run_verdict of the record (README "Exit
codes"): 0 passed, 1 the station failed, 3 the bench could not judge (an instrument down in
the pre-flight, ERROR, BLOCKED, cut off); 4 the reports could not be built; 130 interrupted.
Under plain pytest the session's exit status is set to the same code.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.lock import POLL_S, acquire
from bench.plugin.context import BenchContext
from bench.plugin.eta import earlier_durations
from bench.plugin.freshboot import FreshBootStep
from bench.plugin.liblog import library_logs_to_record
from bench.plugin.loop import BenchLoop
from bench.plugin.plan import TESTPLANS_DIR, effective_settings
from bench.plugin.plugin import BenchPlugin, octt_marker
from bench.plugin.preflight import run_preflight
from bench.plugin.progress import Progress, waiting
from bench.plugin.request import REPO, RUN_DIR_RESOURCE, RunRequest
from bench.plugin.resume import finish_resume_entry, reopen_record
from bench.plugin.simproc import SimProcess
from bench.record import RunRecord
from bench.record.reader import load_run
from bench.record.verdict import EXIT_INTERRUPTED, EXIT_NO_REPORTS, RunVerdict, run_verdict
from bench.record.writer import git_revision
from bench.safestate import Interrupted, sigterm_as_keyboard_interrupt

PYTEST_INI = TESTPLANS_DIR / "bench.ini"  # bench run only: see the file


class Run:
    def __init__(self, request: RunRequest, pytest_mode: bool = False,
                 progress: Progress | None = None) -> None:
        self.request = request
        self.rig, self.plan, self.limits = request.rig, request.plan, request.limits
        self.cases, self.repeat, self.faults = request.cases, request.repeat, request.faults
        self.reports = request.reports
        self.pytest_mode = pytest_mode  # plain pytest: its options, its terminal, its exit
        # what the simulated station does: the rig's [simulator] behaviours and --behaviour
        rig = request.rig
        self.behaviours = sorted(set(request.behaviours)
                                 | set(rig.simulator.behaviours if rig.simulator else []))
        self.simulated = rig.simulator is not None
        self.settings = effective_settings(rig.pics, self.plan, self.simulated)
        self.pytest_config: pytest.Config | None = None  # plain pytest: its terminal
        self._open_line = -1  # the width of pytest's open line we last broke
        self.progress = progress or Progress(
            line_start=self._terminal_line_start if pytest_mode else None)
        self.lock, self.resume = request.lock, request.resume
        self.resume_n = 0
        self._run_dir_lock: Any = None
        if self.resume is None:
            self.record = RunRecord.create(
                request.runs_dir, self.plan.name, rig=str(rig.path),
                rig_path=str(rig.path.resolve()), plan=self.plan.name,
                plan_path=str(self.plan.path.resolve()) if self.plan.path else None,
                station_id=rig.station.id, simulated=self.simulated,
                cases=self.cases or self.plan.cases, faults=self.faults,
                behaviours=self.behaviours, repeat=self.repeat or self.plan.repeat,
                operator=rig.bench.get("operator"), runner="pytest" if pytest_mode else "bench")
            # held for the process's life (released by the kernel): --resume of a live run
            # is refused
            self._run_dir_lock = acquire(self.record.path, [RUN_DIR_RESOURCE])
        else:
            self.record, self.resume_n = reopen_record(
                self.resume, cases=self.cases, pid=os.getpid(), git_revision=git_revision())
        self._exit = contextlib.ExitStack()
        self._exit.enter_context(library_logs_to_record(self.record))
        self._record_lock()
        self.loop = BenchLoop()
        source = f"{rig.path} [pics]" + (f" + plan {self.plan.name} [sim_settings]"
                                         if self.simulated and self.plan.sim_settings else "")
        self.ctx = BenchContext(rig=rig, plan=self.plan, settings=self.settings,
                                record=self.record, loop=self.loop, limits=self.limits,
                                settings_source=source, progress=self.progress)
        attempts_before = {}
        if self.resume is not None:
            self.ctx.outcomes.update(self.resume.outcomes())
            attempts_before = {c: self.resume.attempts(c) for c in self.cases}
        self.bench_plugin = BenchPlugin(self.ctx, cases=self.cases or None, repeat=self.repeat,
                                        attempts_before=attempts_before)
        self.hooks = RunHooks(self)
        self.sim: SimProcess | None = None
        self.csms: Any = None
        self.bench: Any = None
        self.started = False  # the rig came up and the cases may run
        self.start_error: str | None = None  # why the cases could not run at all
        self.stopped_by: BaseException | None = None  # what stopped pytest (Ctrl-C, exit)
        self.interrupted = Interrupted()
        self.exit_code: int | None = None
        self._signals: contextlib.ExitStack | None = None
        self.progress.note(f"run {self.record.path}")

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

    def _terminal_line_start(self) -> bool:
        """Plain pytest: is its terminal at the start of a line? (-v leaves `path::test `
        open until the outcome): the progress then starts a line of its own, once."""
        if self.pytest_config is None:
            return True
        try:
            width = self.pytest_config.get_terminal_writer().width_of_current_line
        except (AssertionError, AttributeError):  # no terminal reporter (-p no:terminal)
            return True
        if width == 0 or width == self._open_line:
            return True
        self._open_line = width
        return False

    # -- bench run: pytest in-process ------------------------------------------------------
    def pytest_args(self) -> list[str]:
        run_dir, sfx = self.record.path, self._suffix()
        self._pytest_report_named(f"pytest-report{sfx}.html")
        return [*(str(p) for p in self.plan.paths()),
                "-c", str(PYTEST_INI), "--rootdir", str(REPO),
                "-p", "no:cacheprovider", "-p", "no:terminal",
                f"--html={run_dir / f'pytest-report{sfx}.html'}", "--self-contained-html",
                f"--junitxml={run_dir / f'pytest-junit{sfx}.xml'}"]

    def _pytest_report_named(self, name: str) -> None:
        """run.json names pytest-html's report: it is written after the bench's reports, which
        link it from the record's word, not from whether the file exists yet."""
        if "pytest_report" not in self.record.meta:  # a resumed run keeps the first one's
            self.record.update_meta(pytest_report=name)

    def execute(self) -> int:
        """`bench run`: the cases through pytest with this run's plugins; the exit code."""
        args = self.pytest_args()
        self.record.event("log", "pytest", args=args)
        try:
            pytest.main(args, plugins=[self.hooks, self.bench_plugin])
        except KeyboardInterrupt:  # a signal outside pytest's own handling
            self.stopped_by = self.stopped_by or KeyboardInterrupt()
        return self.finish(None)

    # -- the pytest side -------------------------------------------------------------------
    def signals_on(self) -> None:
        """SIGTERM takes the path of Ctrl-C (KeyboardInterrupt): safe state, then exit."""
        if self._signals is None:
            self._signals = contextlib.ExitStack()
            self.interrupted = self._signals.enter_context(sigterm_as_keyboard_interrupt())

    def signals_off(self) -> None:
        if self._signals is not None:
            self._signals.close()
            self._signals = None

    def plan_items(self, items: list[pytest.Item]) -> None:
        """What pytest will run (after -k, --lf, --cases): the progress's N of M and ETA."""
        cases = [info[0] for info in map(octt_marker, items) if info]
        self.record.update_meta(selected=list(dict.fromkeys(cases)), items=len(cases))
        durations = earlier_durations(self.record.path.parent, str(self.rig.path.resolve()),
                                      self.plan.name, self.record.meta.get("plan_path"),
                                      exclude=self.record.path)
        self.progress.set_items(cases, durations)
        if durations.runs:
            self.progress.note(f"{len(cases)} case run(s); durations from {durations.runs} "
                               f"earlier run(s) of this rig and plan")

    def start(self) -> bool:
        """Bring the rig up for the cases. False: they cannot run at all (recorded)."""
        try:
            self._snapshots()
            self._bring_up()
        except Exception as exc:
            self.start_error = f"{type(exc).__name__}: {exc}"
            self.record.event("log", "run-error", error=self.start_error)
            self.progress.note(f"bench run: {self.start_error}")
            return False
        if self.start_error is None:
            self.started = True
        return self.started

    def finish(self, exitstatus: int | None) -> int:
        """After the cases (or instead of them): safe state, record closed, verdict, reports.
        Returns the run's exit code; runs once."""
        if self.exit_code is not None:
            return self.exit_code
        with _signals_held():  # safe state and the record must finish
            status = self._status(exitstatus)
            if self.started:
                with contextlib.suppress(Exception):
                    self.bench_plugin.finalize()
                if status == "complete" and self.ctx.station is not None \
                        and self.ctx.boot_error is None:
                    self._station_config(self.ctx.station, "station_config_end")
            self._shut_down()
            if self.lock is not None and self.lock.lost():
                # someone removed a lock file: another run may have driven the rig meanwhile
                self.record.event("log", "rig-lock-lost", resources=self.lock.lost())
                self.progress.note("rig lock lost (lock file removed): "
                                   + ", ".join(self.lock.lost()))
                status = "error" if status == "complete" else status
            if self.resume_n:
                finish_resume_entry(self.record, self.resume_n, status)
            self._exit.close()  # library log lines: back to nobody before the record closes
            self.record.close(status)
            if self._run_dir_lock is not None:
                self._run_dir_lock.release()
            # the whole record (a resumed run: every session), judged as the reports judge it
            judged = run_verdict(load_run(self.record.path))
            report, report_error = self._build_reports()
            why = f" ({self.start_error})" if self.start_error else ""
            self.progress.note(f"{status}{why}: {self.progress.summary() or 'no verdicts'}; "
                               f"run verdict {judged.verdict}{_differs(judged)}")
            print(report or self.record.path, flush=True)
            if status == "interrupted":
                self.exit_code = EXIT_INTERRUPTED
            elif report_error is not None:
                self.exit_code = EXIT_NO_REPORTS
            else:
                self.exit_code = judged.exit_code
            self.progress.close()
        return self.exit_code

    def _status(self, exitstatus: int | None) -> str:
        stopped = self.stopped_by
        if self.interrupted or (isinstance(stopped, KeyboardInterrupt | pytest.exit.Exception)
                                and not isinstance(stopped, pytest.Session.Interrupted)):
            self.progress.note(f"interrupted ({self.interrupted.signal or 'Ctrl-C'})")
            return "interrupted"
        if self.start_error is not None:
            return "error"
        problem = None
        if isinstance(stopped, pytest.Session.Interrupted):  # collection errors, shouldstop
            problem = f"pytest stopped: {stopped}"
        elif exitstatus is None:
            problem = "pytest ended before the session finished (see the record)"
        elif exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            problem = f"pytest could not run the cases (exit {int(exitstatus)})"
        if problem is not None:
            self.start_error = problem
            self.record.event("log", "run-error", error=problem)
            return "error"
        return "complete"

    # -- bring-up --------------------------------------------------------------------------
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

    def _bring_up(self) -> None:
        from bench.csms import Csms
        from bench.verbs import Bench

        loop, ctx = self.loop, self.ctx
        overrides = {"port": 0} if self.simulated else {}
        self.csms = ctx.csms = Csms.from_rig(self.rig, self.record, **overrides)
        rig = self.rig
        csms_started_ns = time.monotonic_ns()
        if self.simulated:  # the twins are the sim's: up before anything can be identified
            self._start_csms()
            self.sim = SimProcess(self.rig.path, self.record, REPO, self._suffix(),
                                  self.faults, self.behaviours)
            rig = rig.with_ports(self.sim.start(self.csms.url))
            self.progress.note(f"simulated rig up (pid {self.sim.pid})")
            self.record.snapshot("rig", rig.redacted())
            ctx.rig = rig
        self.bench = ctx.bench = Bench.from_rig(rig, self.record, self.csms)
        self.bench.lock_release_s = float(ctx.settings["lock_release_s"])
        if not self._preflight(rig):
            return
        if not self.simulated:
            csms_started_ns = time.monotonic_ns()
            self._start_csms()
        loop.run(self.bench.activate(), 60, "instrument activation")
        # A known state before the first case: a lab rig may have been left plugged or powered.
        from bench.safestate import bring_to_safe_state

        initial = loop.run(bring_to_safe_state(self.bench, self.record), 60,
                           "initial safe state")
        if not initial.ok:
            self.progress.note("initial safe state incomplete: "
                               + ", ".join(s.step for s in initial.failed))
        if not self.simulated and not self._fresh_boot(rig, csms_started_ns):
            return
        boot_s = float(self.settings["boot_timeout_s"])
        try:
            with waiting(self.progress, f"station {rig.station.id} to boot", boot_s):
                ctx.station = loop.run(
                    self.csms.wait_for_station(rig.station.id, timeout=boot_s, boot=True),
                    boot_s + 10, "station boot")
        except Exception as exc:
            self._not_booted(f"station {rig.station.id} did not boot: {exc}")
            return
        self.bench.attach_station(ctx.station)
        ctx.station_config = self._station_config(ctx.station, "station_config_start")

    def _start_csms(self) -> None:
        self.loop.run(self.csms.start(), 30, "CSMS start")
        self.progress.note(f"CSMS listening on {self.csms.url}")
        if not self.simulated:
            from bench.plugin.stationurl import station_urls

            self.progress.note("the station connects to "
                               + " or ".join(station_urls(self.rig, self.csms.port)))

    def _preflight(self, rig: Any) -> bool:
        """Identify every instrument before anything moves; an ERROR naming those that do
        not answer ends the run (no case runs: the bench could not judge)."""
        result = self.loop.run(run_preflight(rig), 120, "pre-flight")
        self.record.event("log", "preflight", **result.as_dict())
        self.record.update_meta(preflight=result.as_dict())
        if result.ok:
            self.progress.note(result.summary())
            return True
        self.start_error = result.summary()
        self.record.event("log", "run-error", error=f"{self.start_error}: {result.problems()}")
        self.progress.note(f"ERROR {result.summary()}:")
        for check in result.checks:
            self.progress.note(f"  {check.line()}")
        return False

    def _fresh_boot(self, rig: Any, csms_started_ns: int) -> bool:
        """Real rig: the station is already up; bring it to a fresh boot (a pre-step).
        False: it could not be done; every case is BLOCKED at once, saying what to do."""
        step = FreshBootStep(rig, self.bench, self.csms, self.settings, self.record,
                             waiting=lambda what, s: waiting(self.progress, what, s))
        how = f"power cycle by {self.bench.mains.name}" if self.bench.mains is not None \
            else "no mains instrument: Reset(Hard) unless it boots by itself on connecting"
        self.progress.note(f"pre-step: bringing station {rig.station.id} to a fresh boot "
                           f"({how})")
        boot_s = float(self.settings["boot_timeout_s"])
        result = self.loop.run(step.run(csms_started_ns),
                               3 * boot_s + float(self.settings["power_off_s"]) + 30,
                               "fresh boot")
        if result.ok:
            self.progress.note(f"pre-step: {result.message}")
            return True
        self._not_booted(f"fresh boot: {result.message}")
        return False

    def _not_booted(self, why: str) -> None:
        ctx = self.ctx
        ctx.boot_error = why
        ctx.station = self.csms.station(self.rig.station.id)
        self.record.event("log", "boot-failed", error=why)
        self.progress.note(why)

    def _station_config(self, station: Any, name: str) -> list[dict[str, Any]] | None:
        try:
            res = self.loop.run(station.call("GetConfiguration", {}), 60, "GetConfiguration")
        except Exception as exc:
            self.record.event("log", f"{name}-failed", error=f"{type(exc).__name__}: {exc}")
            return None
        keys = res.get("configurationKey", []) or []
        self.record.snapshot(name, keys)
        return keys

    # -- shut-down: every step on its own, safe state first ----------------------------------
    def _shut_down(self) -> None:
        loop = self.loop
        with contextlib.suppress(Exception):  # the servers recorded what they did; never hides
            self.ctx.close_files()              # a verdict
        if loop.running and self.bench is not None:
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
        if self.sim is not None:
            self.sim.stop()
        if loop.running and self.csms is not None:
            with contextlib.suppress(BaseException):
                loop.run(self.csms.stop(), 10, "CSMS stop")
        loop.close()

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


class RunHooks:
    """The pytest hooks of a Run: the same under `bench run` and plain pytest."""

    def __init__(self, run: Run) -> None:
        self.run = run

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.run.signals_on()
        if not self.run.pytest_mode:
            return
        self.run.pytest_config = config
        # plain pytest: the run directory gets pytest's own reports too, as under bench run
        run_dir = self.run.record.path
        if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
            config.option.htmlpath = str(run_dir / "pytest-report.html")
            config.option.self_contained_html = True
            self.run._pytest_report_named("pytest-report.html")
        if not getattr(config.option, "xmlpath", None):
            config.option.xmlpath = str(run_dir / "pytest-junit.xml")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.run.plan_items(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        opt = session.config.option
        if (session.testsfailed and not opt.continue_on_collection_errors) or opt.collectonly \
                or not session.items:
            return None  # pytest's own loop says why nothing runs
        if not self.run.start():
            return True  # nothing can run: the record and the console say why
        return None

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.run.stopped_by = excinfo.value

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        session.exitstatus = self.run.finish(exitstatus)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.run.finish(None)  # only when the session never finished (a failed configure)
        self.run.signals_off()
        self.run.request.release()


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait while the rig goes safe and the record closes (every step has
    a deadline); outside the main thread signals cannot be touched, and are not."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _differs(judged: RunVerdict) -> str:
    """A note when the record's verdicts differ from the live count (a run-wide measurement
    failed a case after its line was shown, or failed the run-level entry)."""
    changed = [c for c in judged.cases if c.failed_measurements
               and (not c.final or c.final.get("verdict") != c.verdict)]
    if not changed:
        return ""
    return " (" + "; ".join(f"{c.case} {c.verdict} by measurement" for c in changed) + ")"

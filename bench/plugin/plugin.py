"""The pytest plugin that runs OCTT cases on the bench and writes their verdicts.

`bench run` creates a BenchContext and calls `pytest.main([...], plugins=[BenchPlugin(ctx)])`.
A case module holds one `async def test_...` marked `@pytest.mark.octt(id, name, ...)`; its
coroutine runs on the bench loop (where the CSMS and the verbs live) with the case's overall
deadline. The run record gets one VerdictRecord per case attempt; pytest's own outcome is kept
in line with it for pytest-html and JUnit, but the record is the source of truth.

Marker keywords:
  requires=("socket", ...)     applicability (bench.plugin.applicability); unmet: N/A + reason
  config={"Key": "value"}      configuration pre-state: set, read back, restored afterwards;
                               "{setting}" is taken from the run's settings
  depends=("TC_001_CS", ...)   BLOCKED when one of these ran and did not pass
  timeout=seconds              overall deadline of the case (default: case_timeout_s)
  boot_case=True               the case brings the station up itself (power cycle) and judges
                               its boot: it runs although the initial boot failed, and its
                               PASS lifts the BLOCKED state of the others
  measures=("name", ...)       what the case must measure: a declared measurement left unset
                               when the case reaches its end FAILs it (as in OpenHTF)

The verdict of an attempt is written at its very end, after the maintenance: a measurement
that failed meanwhile (the energy of a transaction the maintenance stopped, the case's own
samples of a run-wide series) fails the case, with the same rule as
bench.record.verdict.run_verdict, so the verdict line, the live progress and the reports agree.
"""

from __future__ import annotations

import inspect
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest

from bench.plugin.applicability import not_applicable_reason
from bench.plugin.context import BenchContext, Case
from bench.plugin.energy import EnergyAudit
from bench.plugin.maintenance import call_deadline_s, run_maintenance, wait_connected
from bench.plugin.measurements import judge_case_samples
from bench.plugin.plan import Plan
from bench.plugin.prestate import apply_case_config, resolve_config
from bench.plugin.progress import waiting
from bench.plugin.verdicts import BenchFault, Blocked, classify, describe, first_failure
from bench.record import Verdict, VerdictRecord
from bench.record.verdict import worst_verdict

_NA = "N/A: "
_BLOCKED = "BLOCKED by "
TRACEBACK_CHARS = 8000  # the tail of an ERROR's traceback kept in its verdict line


@dataclass
class _ItemState:
    case_id: str
    name: str
    options: dict[str, Any]
    attempt: int = 1
    repetition: int | None = None  # --repeat N: which repetition (1..N); None: not repeated
    started: float = field(default_factory=time.monotonic)
    verdict: Verdict | None = None
    message: str = ""
    cause: str | None = None
    case: Case | None = None
    notes: list[str] = field(default_factory=list)
    traceback: str | None = None  # of an ERROR (a bench fault)
    problems: list[str] = field(default_factory=list)  # bench faults after the body ran
    later: list[str] = field(default_factory=list)  # failures after the headline's (first)
    call_passed: bool = False  # pytest's call phase passed (its report may need correcting)


def octt_marker(item: pytest.Item) -> tuple[str, str, dict[str, Any]] | None:
    m = item.get_closest_marker("octt")
    if m is None:
        return None
    if len(m.args) < 2:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.octt needs (case id, name)")
    return str(m.args[0]), str(m.args[1]), dict(m.kwargs)


class PlanSelection:
    """Which test items a plan runs: the octt cases of its suites, minus its exclusions, the
    selected ones only when there is a selection, each `repeat` times. Alone (pytest --co
    --rig) it lists what a run would run; BenchPlugin runs them."""

    def __init__(self, plan: Plan, cases: list[str] | None = None,
                 repeat: int | None = None) -> None:
        self.plan = plan
        self.cases = [c.upper() for c in (cases or plan.cases)]
        self.repeat = repeat or plan.repeat

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", "octt(case_id, name, requires=(), config={}, depends=(), timeout=None): "
            "an OCTT test case run by the bench plugin")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if self.repeat > 1 and "bench_attempt" in metafunc.fixturenames:
            metafunc.parametrize("bench_attempt", range(1, self.repeat + 1),
                                 ids=[f"run{n}" for n in range(1, self.repeat + 1)])

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            info = octt_marker(item)
            case_id = info[0] if info else None
            if case_id is None:
                drop.append(item)
            elif self.cases and case_id not in self.cases:
                drop.append(item)
            elif case_id in self.plan.exclude:
                drop.append(item)
            else:
                keep.append(item)
        narrowed = config.getoption("keyword", "") or config.getoption("lf", False)
        if self.cases and not narrowed:  # pytest's -k / --lf may leave some out on purpose
            missing = set(self.cases) - {octt_marker(i)[0] for i in keep}  # type: ignore[index]
            if missing:
                raise pytest.UsageError(f"no such case(s) in the plan's suites: "
                                        f"{', '.join(sorted(missing))}")
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep


class BenchPlugin(PlanSelection):
    def __init__(self, ctx: BenchContext, cases: list[str] | None = None,
                 repeat: int | None = None,
                 attempts_before: dict[str, int] | None = None) -> None:
        super().__init__(ctx.plan, cases, repeat)
        self.ctx = ctx
        # a resumed run numbers its attempts on from those already in the record
        self.attempts_before = dict(attempts_before or {})
        self._finalized = False
        self._boot_cases_run: list[str] = []
        self.verdicts: list[VerdictRecord] = []
        self.energy = EnergyAudit(ctx)  # compares every transaction's energy with the meter

    # -- fixtures ----------------------------------------------------------------------------
    @pytest.fixture
    def bench_attempt(self) -> int:
        return 1

    @pytest.fixture
    def case(self, request: pytest.FixtureRequest, bench_attempt: int) -> Any:
        state: _ItemState = request.node.stash[_STATE]
        state.attempt = self.attempts_before.get(state.case_id, 0) + bench_attempt
        case = Case(self.ctx, state.case_id, state.name, state.options)
        state.case = case
        wanted = resolve_config(state.options.get("config", {}), self.ctx.settings, case.id)
        if wanted:
            self.ctx.run(apply_case_config(self.ctx.station, case, wanted),
                         # two GetConfiguration and one ChangeConfiguration per key
                         timeout=(2 + len(wanted)) * call_deadline_s(self.ctx) + 10,
                         what=f"{case.id} configuration pre-state")
        self.ctx.run(self.energy.open_case(case), timeout=30,
                     what=f"{case.id} reference energy window")
        yield case
        if self.ctx.progress:
            self.ctx.progress(case.id, "maintenance")
        # an undo with its own deadline (a firmware update run to its end) extends the backstop
        longer = sum(u[1] for u in case.undo.values() if isinstance(u, tuple))
        state.notes = self.ctx.run(run_maintenance(case),
                                   timeout=float(self.ctx.settings["maintenance_timeout_s"])
                                   + longer, what=f"{case.id} maintenance")
        state.problems = self.ctx.run(self._judge_after(case), timeout=60,
                                      what=f"{case.id} energy and run-wide samples")

    async def _judge_after(self, case: Case) -> list[str]:
        """After the maintenance: every transaction of the case has ended; compare their
        energy, and judge the case's samples of the run-wide series. Returns bench faults."""
        problems = []
        try:
            await self.energy.close_case(case)
        except Exception as exc:  # the meter or the limit map: a bench fault (ERROR)
            problems.append(f"energy comparison: {describe(exc)}")
        try:
            judge_case_samples(case)
        except Exception as exc:
            problems.append(f"run-wide samples of the case: {describe(exc)}")
        return problems

    @pytest.fixture
    def station(self, case: Case) -> Any:
        return self.ctx.station

    @pytest.fixture
    def bench(self, case: Case) -> Any:
        return self.ctx.bench

    @pytest.fixture
    def rig(self) -> Any:
        return self.ctx.rig

    @pytest.fixture
    def files(self, case: Case) -> Any:
        """`files(["HTTP", "FTP"])` -> the bench's file servers with those protocols running
        (bench.files.FileService; docs/file-servers.md)."""
        return self.ctx.files

    @pytest.fixture
    def pki(self, case: Case) -> Any:
        """The run's PKI (bench.pki.BenchPki; docs/security.md)."""
        return self.ctx.pki()

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return self.ctx.settings

    @pytest.fixture
    def bench_ctx(self) -> BenchContext:
        return self.ctx

    # -- running a case ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        info = octt_marker(item)
        if info is None:
            return
        case_id, name, options = info
        callspec = getattr(item, "callspec", None)
        n = callspec.params.get("bench_attempt") if callspec else None
        # set here too: an N/A or BLOCKED case never reaches the `case` fixture
        state = _ItemState(case_id, name, options,
                           attempt=self.attempts_before.get(case_id, 0) + (n or 1),
                           repetition=n if self.repeat > 1 else None)
        item.stash[_STATE] = state
        self.ctx.record.current_case = case_id
        self.ctx.record.current_attempt = state.attempt  # every line of the attempt says so
        self.ctx.record.event("log", "case-start", case=case_id, attempt=state.attempt)
        if self.ctx.progress:
            self.ctx.progress(case_id, f"start (run {n}/{self.repeat})" if n else "start")
        reason = not_applicable_reason(options.get("requires", ()), self.ctx.rig,
                                       self.ctx.station_config)
        if reason:
            state.verdict, state.message = Verdict.NA, reason
            pytest.skip(_NA + reason)
        try:
            self._check_prerequisites(case_id, options)
        except Blocked as exc:
            state.verdict, state.message, state.cause = Verdict.BLOCKED, str(exc), exc.cause
            pytest.skip(f"{_BLOCKED}{exc.cause}: {exc}")

    def _check_prerequisites(self, case_id: str, options: dict[str, Any]) -> None:
        if options.get("boot_case") and self.ctx.station is not None \
                and not getattr(self.ctx.bench, "broken", None):
            return  # it power-cycles the station and judges the boot itself
        broken = getattr(self.ctx.bench, "broken", None)
        if broken:  # an instrument fault left the rig unknown: fail fast, name the cause
            raise BenchFault(f"the bench is broken by an earlier instrument fault: {broken}")
        if self.ctx.boot_error or self.ctx.station is None:
            failed_boot_cases = [c for c in self._boot_cases_run if
                                 self.ctx.outcomes.get(c) != Verdict.PASS]
            cause = failed_boot_cases[0] if failed_boot_cases else "boot"
            raise Blocked(self.ctx.boot_error or "no station session", cause)
        for dep in options.get("depends", ()):
            outcome = self.ctx.outcomes.get(dep)
            if outcome is not None and outcome != Verdict.PASS:
                raise Blocked(f"prerequisite {dep} ended {outcome}", dep)
        timeout = float(self.ctx.settings["boot_timeout_s"])
        try:
            with waiting(self.ctx.progress, "the station to be connected", timeout, case_id):
                self.ctx.run(wait_connected(self.ctx.station, timeout), timeout + 5,
                             what="station reconnection")
        except Exception as exc:
            culprit = next((c for c, v in reversed(self.ctx.outcomes.items())
                            if v != Verdict.PASS), "station connection")
            raise Blocked(f"the station is not connected ({describe(exc)})", culprit) from None

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        if not inspect.iscoroutinefunction(pyfuncitem.obj):
            return None
        state: _ItemState | None = pyfuncitem.stash.get(_STATE, None)
        args = {a: pyfuncitem.funcargs[a] for a in pyfuncitem._fixtureinfo.argnames}
        timeout = float((state.options.get("timeout") if state else None)
                        or self.ctx.settings["case_timeout_s"])
        self.ctx.run(pyfuncitem.obj(**args), timeout=timeout, what=pyfuncitem.name)
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        state: _ItemState | None = item.stash.get(_STATE, None)
        if state is None:
            return
        if report.when in ("setup", "call") and state.verdict is None:
            self._judge(state, call, report)
        if report.when == "teardown":
            if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
                state.notes.append(f"teardown: {describe(call.excinfo.value)}")
            rec = self._write_verdict(state)
            if state.call_passed and rec.verdict in (Verdict.FAIL, Verdict.ERROR) \
                    and report.outcome == "passed":
                # decided after the call (maintenance, energy): pytest-html and its JUnit
                # show it too
                report.outcome = "failed"
                report.longrepr = f"{rec.verdict}: {rec.message}"

    def _judge(self, state: _ItemState, call: pytest.CallInfo[Any],
               report: pytest.TestReport) -> None:
        case = state.case
        step = f"step '{case.current_step}': " if case and case.current_step else ""
        if call.excinfo is not None:
            if call.excinfo.errisinstance(pytest.skip.Exception):
                state.verdict, state.message = Verdict.NA, str(call.excinfo.value)
                return
            exc, later = first_failure(call.excinfo.value)
            state.verdict = classify(exc)
            text = describe(exc)
            state.later = [describe(e) for e in later]
            where = step if report.when == "call" else (
                "" if text.startswith("pre-state") else "setup: ")
            state.message = f"{where}{text}"
            if state.verdict == Verdict.ERROR:  # a bench fault: how the bench got there
                state.traceback = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
            return
        if report.when != "call":
            return
        state.verdict, state.message, state.call_passed = Verdict.PASS, "all checks passed", True
        failed = case.failed_measurements if case else []
        if failed:  # known now: pytest's own reports show it at once
            report.outcome = "failed"
            report.longrepr = "; ".join(f"measurement {m.describe()}" for m in failed)
            state.call_passed = False

    def _final(self, state: _ItemState) -> tuple[Verdict, str]:
        verdict, message = self._judged(state)
        unverified = state.case.unverified if state.case else []
        if unverified and verdict in (Verdict.PASS, Verdict.FAIL):
            message += "; not verified on this rig: " + "; ".join(unverified)
        return verdict, message

    def _judged(self, state: _ItemState) -> tuple[Verdict, str]:
        """The attempt's verdict from what happened and what was measured (the rule of
        bench.record.verdict.run_verdict: a failed measurement fails a PASS or an ERROR)."""
        verdict = state.verdict or Verdict.ERROR
        message = state.message or "the case did not run to a verdict"
        if verdict == Verdict.NA and message.startswith(_NA):
            message = message[len(_NA):]
        case = state.case
        if case is None:
            return verdict, message
        if verdict == Verdict.PASS and not state.problems:
            case.fail_missing_declared()  # the case reached its end without them
        failed = case.failed_measurements
        if failed and verdict in (Verdict.PASS, Verdict.ERROR):
            also = f" (the case also ended in ERROR: {message})" if verdict == Verdict.ERROR \
                else ""
            return Verdict.FAIL, "; ".join(f"measurement {m.describe()}" for m in failed) + also
        if verdict == Verdict.PASS and state.problems:
            return Verdict.ERROR, "; ".join(state.problems)
        return verdict, message

    def _write_verdict(self, state: _ItemState) -> VerdictRecord:
        verdict, message = self._final(state)
        checks = list(state.case.checks) if state.case else []
        checks += [f"FAIL (later): {text}" for text in state.later]
        checks += [f"note: {n}" for n in state.notes + state.problems]
        rec = VerdictRecord(
            case=state.case_id, verdict=verdict, message=message, name=state.name,
            attempt=state.attempt, duration_s=round(time.monotonic() - state.started, 3),
            checks=checks, cause=state.cause,
            traceback=state.traceback,  # also when a failed measurement made the ERROR a FAIL
            repetition=state.repetition,
            repetitions=self.repeat if state.repetition is not None else None,
        )
        self.ctx.record.verdict(rec)
        self.ctx.record.sync()
        self.verdicts.append(rec)
        earlier = self.ctx.outcomes.get(state.case_id)
        if state.repetition is not None and state.repetition > 1 and earlier is not None:
            # repetitions are not re-attempts: the case stands as its worst repetition
            verdict_of_case = worst_verdict(earlier, verdict)
        else:
            verdict_of_case = verdict
        self.ctx.outcomes[state.case_id] = verdict_of_case
        if verdict == Verdict.FAIL and "first_failure" not in self.ctx.record.meta:
            # which case first caught the station out (nightly triage starts there)
            self.ctx.record.update_meta(first_failure=state.case_id)
        if state.options.get("boot_case"):
            self._boot_cases_run.append(state.case_id)
            if verdict == Verdict.PASS and self.ctx.boot_error:
                self.ctx.record.event("log", "boot-recovered", case=state.case_id,
                                      was=self.ctx.boot_error)
                self.ctx.boot_error = None  # the station booted in this case
        self.ctx.record.current_case = None
        self.ctx.record.current_attempt = None
        if self.ctx.progress:
            self.ctx.progress(state.case_id, f"{verdict}: {message}")
        return rec

    # -- end of run ----------------------------------------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.finalize()

    def finalize(self) -> None:
        """Record the run-wide series once: response time per action, and collected series."""
        if self._finalized:
            return
        self._finalized = True
        from bench.plugin.measurements import record_run_series

        record_run_series(self.ctx)


_STATE = pytest.StashKey[_ItemState]()

"""What a run is asked to do, checked before anything is started: rig, plan, limits, the
cases, faults and behaviours, the rig lock, a run to resume.

`bench run` and plain `pytest --rig` take the same options; both call `prepare_run`, which
raises RunUsageError (exit 2: bad input or usage, nothing was run) with a message that says
what was wrong and what is allowed. Nothing is brought up here: a refused run leaves no run
directory behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.config.rig import Rig, RigError, load_rig
from bench.lock import LOCK_DIR_ENV, BenchLock, LockBusy, acquire, rig_resources
from bench.plugin.limits import LimitError, LimitMap
from bench.plugin.plan import Plan, PlanError, case_index, load_plan, plans_with_case
from bench.plugin.resume import ResumeError, ResumeState, read_run

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PLAN = "core"
DEFAULT_RIG = Path("rigs/sim.toml")
RUN_DIR_RESOURCE = ".run-writer"  # a hidden lock file in the run dir: one writer per record


class RunUsageError(ValueError):
    """The run cannot start: bad input or usage (exit 2); nothing was run."""


class NothingToResume(Exception):
    """--resume of a run whose every case has a final verdict: nothing to do."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(str(run_dir))
        self.run_dir = run_dir


@dataclass
class RunOptions:
    """The options of `bench run` (and of `pytest --rig`), as given."""

    plan: str | None = None
    rig: Path | None = None
    cases: str = ""
    repeat: int | None = None
    runs_dir: Path | None = None
    fault: list[str] = field(default_factory=list)
    behaviour: list[str] = field(default_factory=list)
    no_reports: bool = False
    resume: Path | None = None
    lock_dir: Path | None = None
    wait_lock: float = 0.0
    lock: bool = False


@dataclass
class RunRequest:
    """A checked request: everything a Run needs, the rig lock already held."""

    rig: Rig
    rig_arg: Path  # the rig file as given (what the lock names)
    plan: Plan
    limits: LimitMap
    runs_dir: Path
    cases: list[str]  # the selection (empty: the plan's)
    repeat: int | None
    faults: list[str]
    behaviours: list[str]
    reports: bool
    lock: BenchLock | None = None
    resume: ResumeState | None = None
    run_dir_lock: BenchLock | None = None  # --resume: held while appending to RUN_DIR

    def release(self) -> None:
        for held in (self.lock, self.run_dir_lock):
            if held is not None:
                held.release()


def prepare_run(opts: RunOptions, say: object = None) -> RunRequest:
    """Check the options and take the rig lock. Raises RunUsageError, or NothingToResume.

    say: called with a line to show while waiting for a busy rig (--wait-lock)."""
    if opts.wait_lock < 0:
        raise RunUsageError("--wait-lock must be >= 0 seconds")
    resume = None
    if opts.resume is not None:
        given = [o for o, v in (("--plan", opts.plan), ("--rig", opts.rig),
                                ("--cases", opts.cases), ("--repeat", opts.repeat),
                                ("--fault", opts.fault), ("--behaviour", opts.behaviour)) if v]
        if given:
            raise RunUsageError(f"--resume takes plan, rig, cases, repetitions, faults and "
                                f"behaviours from {opts.resume}/run.json; drop "
                                f"{', '.join(given)}")
        try:
            resume = read_run(opts.resume, REPO)
        except ResumeError as exc:
            raise RunUsageError(str(exc)) from None
        opts.plan, opts.rig = resume.plan_ref, resume.rig_path
        opts.cases, opts.repeat, opts.fault = ",".join(resume.cases), resume.repeat, resume.faults
        opts.behaviour = list(resume.meta.get("behaviours") or [])
    plan_ref = opts.plan or DEFAULT_PLAN
    rig_arg = Path(opts.rig or DEFAULT_RIG)
    try:
        rig = load_rig(rig_arg)
        plan = load_plan(plan_ref)
        limits = LimitMap.load()
    except (RigError, PlanError, LimitError) as exc:
        where = f" (the rig and plan of {opts.resume})" if resume else ""
        raise RunUsageError(f"{exc}{where}") from None
    _check_station_profiles(opts, rig, rig_arg)
    if opts.repeat is not None and opts.repeat < 1:
        raise RunUsageError("--repeat must be >= 1")
    cases = [c.strip().upper() for c in opts.cases.split(",") if c.strip()]
    try:
        known = case_index(plan)
    except PlanError as exc:
        raise RunUsageError(str(exc)) from None
    unknown = [c for c in cases + plan.cases if c not in known]
    if unknown:
        elsewhere = {c: plans_with_case(c) for c in unknown}
        hints = "".join(f"; {c} is in plan {' or '.join(p)} (--plan {p[0]})"
                        for c, p in elsewhere.items() if p)
        raise RunUsageError(f"no such case(s) in the suites of plan {plan.name} "
                            f"({', '.join(plan.suites)}): {', '.join(unknown)}{hints}; known: "
                            f"{', '.join(sorted(known)) or 'none'}")
    run_dir_lock: BenchLock | None = None
    if resume is not None:
        try:  # a run still writing RUN_DIR holds this; two writers would corrupt the record
            run_dir_lock = acquire(resume.run_dir, [RUN_DIR_RESOURCE],
                                   run_dir=str(resume.run_dir))
        except LockBusy as exc:
            raise RunUsageError(f"--resume {resume.run_dir}: the run is still going: "
                                f"{exc}") from None
        runs_dir = resume.run_dir.parent
        selection = cases or [c for c in known if c not in plan.exclude]
        cases = resume.to_run(selection)
        if not cases:
            run_dir_lock.release()
            raise NothingToResume(resume.run_dir)
    else:
        runs_dir = Path(opts.runs_dir or rig.bench.get("runs_dir", "runs"))
    request = RunRequest(rig=rig, rig_arg=rig_arg, plan=plan, limits=limits, runs_dir=runs_dir,
                         cases=cases, repeat=opts.repeat, faults=list(opts.fault),
                         behaviours=list(opts.behaviour), reports=not opts.no_reports,
                         resume=resume, run_dir_lock=run_dir_lock)
    try:
        request.lock = _take_rig_lock(opts, rig, rig_arg, runs_dir, say)
    except RunUsageError:
        request.release()
        raise
    return request


def _check_station_profiles(opts: RunOptions, rig: Rig, rig_arg: Path) -> None:
    """--fault and --behaviour change the simulated station: only a simulated rig has one."""
    if opts.fault and rig.simulator is None:
        raise RunUsageError(f"--fault works only with a simulated rig ({rig_arg} has no "
                            "[simulator] table)")
    if opts.fault:
        from sim.station.faults import check_fault_names

        try:
            check_fault_names(opts.fault)
        except ValueError as exc:
            raise RunUsageError(f"--fault: {exc}") from None
    if opts.behaviour:
        from sim.station.behaviours import check_behaviour_names

        if rig.simulator is None:
            raise RunUsageError(f"--behaviour works only with a simulated rig ({rig_arg} has "
                                "no [simulator] table)")
        try:
            check_behaviour_names(opts.behaviour)
        except ValueError as exc:
            raise RunUsageError(f"--behaviour: {exc}") from None


def _take_rig_lock(opts: RunOptions, rig: Rig, rig_arg: Path, runs_dir: Path,
                   say: object) -> BenchLock | None:
    """The lab rig's lock (the simulated rig runs on ports of its own: none unless --lock)."""
    if rig.simulator is not None and not opts.lock:
        return None
    lock_dir = Path(opts.lock_dir or os.environ.get(LOCK_DIR_ENV) or runs_dir / ".locks")
    resources = rig_resources(rig)
    if opts.wait_lock and callable(say):
        say(f"waiting up to {opts.wait_lock:g} s for the rig ({', '.join(resources)})")
    try:
        return acquire(lock_dir, resources, wait_s=opts.wait_lock,
                       rig=str(rig_arg.resolve()))
    except LockBusy as exc:
        raise RunUsageError(f"the rig {rig_arg} is in use: {exc}") from None
    except OSError as exc:
        raise RunUsageError(f"cannot take the rig lock in {lock_dir}: {exc}") from None

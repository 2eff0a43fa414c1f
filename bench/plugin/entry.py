"""The bench's pytest11 entry point: plain pytest runs the OCTT cases like `bench run`.

    pytest testplans/core --rig rigs/lab.toml -k TC_010 -x -v
    pytest testplans/core --rig rigs/sim.toml --lf        (--pdb, --co, ... as usual)

With `--rig` the same Run as `bench run` (bench/plugin/session.py) is made: the same checks
of the options (bad input: exit 2, nothing run), rig lock, run directory, record, verdicts,
reports and exit code (README "Exit codes"); pytest's own flags select and debug. With
`--co` nothing is brought up and no run directory is written: the plan's selection is
listed. Without `--rig` the plugin does nothing at all, so the bench's own test suite and
any other pytest session are not affected by it being installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.lock import LOCK_DIR_ENV

GROUP = "bench (OCPP test bench: active with --rig)"
FOREIGN_RUNNERS = ("asyncio", "timeout")  # pytest-asyncio, pytest-timeout


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bench", GROUP)
    g.addoption("--rig", dest="bench_rig", type=Path, default=None,
                help="run the OCTT cases with the bench on this rig file (bench run's --rig)")
    g.addoption("--plan", dest="bench_plan", default=None,
                help="plan name (testplans/plans) or .toml path (default: core)")
    g.addoption("--cases", dest="bench_cases", default="",
                help="comma-separated case ids (default: the plan's; -k selects too)")
    g.addoption("--repeat", dest="bench_repeat", type=int, default=None,
                help="run each case N times; every repetition is judged")
    g.addoption("--runs-dir", dest="bench_runs_dir", type=Path, default=None,
                help="where run directories go (default: the rig's [bench] runs_dir)")
    g.addoption("--fault", dest="bench_fault", action="append", default=[], metavar="NAME",
                help="station fault profile (simulated rig only)")
    g.addoption("--behaviour", dest="bench_behaviour", action="append", default=[],
                metavar="NAME", help="station behaviour profile (simulated rig only)")
    g.addoption("--no-reports", dest="bench_no_reports", action="store_true",
                help="skip building report.html")
    g.addoption("--lock-dir", dest="bench_lock_dir", type=Path, default=None,
                help=f"where the rig locks live (default: ${LOCK_DIR_ENV} or <runs dir>/.locks)")
    g.addoption("--wait-lock", dest="bench_wait_lock", type=float, default=0.0,
                metavar="SECONDS", help="wait up to SECONDS for a rig another run holds")
    g.addoption("--lock", dest="bench_lock", action="store_true",
                help="take the rig lock even on the simulated rig")


@pytest.hookimpl(tryfirst=True)  # before pytest-html and junitxml read their paths
def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if getattr(opt, "bench_rig", None) is None:
        return  # not asked: stay out of the way
    from bench.plugin.plugin import PlanSelection
    from bench.plugin.request import RunOptions, RunUsageError, prepare_run

    # Plain pytest reads the repository's pyproject.toml (the bench's own tests: asyncio auto
    # mode, a 120 s timeout). The cases run on the bench loop with the bench's own deadlines:
    # those two plugins must stay out.
    for name in FOREIGN_RUNNERS:
        if config.pluginmanager.get_plugin(name) is not None:
            config.pluginmanager.unregister(name=name)

    options = RunOptions(plan=opt.bench_plan, rig=opt.bench_rig, cases=opt.bench_cases,
                         repeat=opt.bench_repeat, runs_dir=opt.bench_runs_dir,
                         fault=list(opt.bench_fault), behaviour=list(opt.bench_behaviour),
                         no_reports=opt.bench_no_reports, lock_dir=opt.bench_lock_dir,
                         wait_lock=opt.bench_wait_lock, lock=opt.bench_lock)
    if opt.collectonly:  # list what the plan would run; bring nothing up, write nothing
        try:
            from bench.plugin.plan import load_plan

            plan = load_plan(options.plan or "core")
        except ValueError as exc:
            raise pytest.UsageError(f"bench: {exc}") from None
        cases = [c.strip().upper() for c in options.cases.split(",") if c.strip()]
        config.pluginmanager.register(PlanSelection(plan, cases, options.repeat),
                                      "bench-selection")
        return
    try:
        request = prepare_run(options, say=lambda text: print(f"bench: {text}", flush=True))
    except RunUsageError as exc:
        pytest.exit(f"bench: {exc}", returncode=2)
    from bench.plugin.session import Run

    run = Run(request, pytest_mode=True)
    config.pluginmanager.register(run.bench_plugin, "bench-plugin")
    config.pluginmanager.register(run.hooks, "bench-run")

"""`bench run`: run a test plan against the rig's station and write the run directory.

The one-line entry of a campaign; plain `pytest testplans/core --rig RIG` runs the same Run
(bench/plugin/session.py) through the pytest11 entry point. Order, safe state and the record:
see bench/plugin/session.py.

Exit codes (README "Exit codes"): the verdict is bench.record.verdict.run_verdict of the
record, the same function the reports use: 0 every applicable case passed, 1 the station
failed a case, 3 the bench could not judge (an instrument down in the pre-flight, ERROR,
BLOCKED, cut off; no FAIL); 2 bad input or usage (nothing run), 4 the run finished but its
reports could not be built, 130 Ctrl-C or SIGTERM.

`--resume RUN_DIR` re-runs the cases of RUN_DIR without a final verdict (bench/plugin/resume.py)
with its plan and rig, appending to its record; the reports are rebuilt from the whole record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.lock import LOCK_DIR_ENV
from bench.plugin.request import (
    RUN_DIR_RESOURCE,
    NothingToResume,
    RunOptions,
    RunUsageError,
    prepare_run,
)
from bench.plugin.session import Run
from bench.record.reader import load_run
from bench.record.verdict import EXIT_USAGE, run_verdict

__all__ = ["RUN_DIR_RESOURCE", "Run", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench run", description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", default=None, help="plan name (testplans/plans) or .toml path "
                   "(default: core)")
    p.add_argument("--rig", type=Path, default=None, help="rig file (default: rigs/sim.toml)")
    p.add_argument("--cases", default="", help="comma-separated case ids (default: the plan's)")
    p.add_argument("--repeat", type=int, default=None,
                   help="run each case N times; every repetition is judged")
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


def options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(plan=args.plan, rig=args.rig, cases=args.cases, repeat=args.repeat,
                      runs_dir=args.runs_dir, fault=args.fault, behaviour=args.behaviour,
                      no_reports=args.no_reports, resume=args.resume, lock_dir=args.lock_dir,
                      wait_lock=args.wait_lock, lock=args.lock)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        request = prepare_run(options(args), say=lambda text: print(
            f"bench run: {text}", file=sys.stderr, flush=True))
    except RunUsageError as exc:
        return _usage(str(exc))
    except NothingToResume as done:
        judged = run_verdict(load_run(done.run_dir))
        print(f"bench run: nothing to resume in {done.run_dir}: every case has a final "
              f"verdict; the run's verdict is {judged.verdict}", file=sys.stderr)
        return judged.exit_code
    try:
        return Run(request).execute()
    finally:
        request.release()

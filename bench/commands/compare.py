"""`bench compare RUN_A RUN_B`: the nightly regression view.

Exit codes (README "Exit codes"): 0 no regression, 1 a regression, 2 bad input (not run
directories, unreadable records), 4 compare.html could not be written. The verdicts compared
are run_verdict's, as `bench run` and the reports judged each run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.record.reader import load_run
from bench.record.verdict import EXIT_FAIL, EXIT_NO_REPORTS, EXIT_OK, EXIT_USAGE
from reports.compare import DEFAULT_THRESHOLD, compare_runs, terminal_summary
from reports.html import write_comparison


def _threshold(text: str) -> float:
    """20, 20% or 0.2 all mean twenty percent."""
    value = float(text.rstrip("%"))
    if value < 0:
        raise argparse.ArgumentTypeError("threshold must be >= 0")
    return value / 100 if text.endswith("%") or value >= 1 else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench compare",
        description="Compare two runs: cases whose verdict changed, measurements that moved, "
                    "configuration and firmware changes. Exit 1 on a regression (a PASS that "
                    "became FAIL/ERROR, a measurement that failed or moved the bad way).")
    parser.add_argument("run_a", type=Path, help="the old run directory (e.g. last night)")
    parser.add_argument("run_b", type=Path, help="the new run directory")
    parser.add_argument("--threshold", type=_threshold, default=DEFAULT_THRESHOLD,
                        help="relative move of median/p95/max that counts (20, 20%% or 0.2; "
                             "default 20%%)")
    parser.add_argument("--abs-floor", type=float, default=None,
                        help="absolute change below which a move is noise (default per unit: "
                             "0.05 s, 50 ms, 1 Wh, ...)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="where to write compare.html (default RUN_B/compare.html)")
    args = parser.parse_args(argv)
    for label, path in (("RUN_A", args.run_a), ("RUN_B", args.run_b)):
        if not path.is_dir():
            print(f"bench compare: {label} is not a run directory: {path}", file=sys.stderr)
            return EXIT_USAGE
    try:
        cmp = compare_runs(load_run(args.run_a), load_run(args.run_b), args.threshold,
                           args.abs_floor)
    except (OSError, ValueError) as exc:
        print(f"bench compare: cannot read the runs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.output or (args.run_b / "compare.html")
    if out.is_dir():
        out = out / "compare.html"
    try:
        html = write_comparison(cmp, out)
    except Exception as exc:  # the comparison is still printed; only the file is missing
        print(terminal_summary(cmp, None))
        print(f"bench compare: {out} not written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_NO_REPORTS
    print(terminal_summary(cmp, html))
    return EXIT_FAIL if cmp.regressions else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

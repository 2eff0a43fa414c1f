"""`bench report RUN_DIR [--pdf]`: rebuild report.html, junit.xml and summary.json from the
record, and with --pdf report.pdf (printed by headless Chromium) for the audit file.

Exits as `bench run` would for that record (README "Exit codes"): 0, 1 or 3 by the run's
verdict once the reports are built, 2 for a path that is not a run directory, 4 when the
reports (report.pdf too, when asked for) could not be built.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.record.reader import load_run
from bench.record.verdict import EXIT_NO_REPORTS, EXIT_USAGE, run_verdict
from reports.build import build_reports
from reports.pdf import PdfError, write_report_pdf

__all__ = ["build_reports", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench report",
        description="Rebuild the reports of a run directory (also of a run that was cut off): "
                    "report.html, junit.xml and summary.json are written beside the record.")
    parser.add_argument("run_dir", type=Path, help="the run directory (runs/<id>)")
    parser.add_argument("--pdf", action="store_true",
                        help="also print report.pdf (A4, headless Chromium) for the audit file")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir
    if not run_dir.is_dir():
        print(f"bench report: run directory not found: {run_dir}", file=sys.stderr)
        return EXIT_USAGE
    if not (run_dir / "run.json").exists() and not (run_dir / "frames.jsonl").exists():
        print(f"bench report: {run_dir} is not a run directory (no run.json, no frames.jsonl)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        path = build_reports(run_dir)
    except Exception as exc:  # the record stays; say why there is no report
        print(f"bench report: reports of {run_dir} not built: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return EXIT_NO_REPORTS
    judged = run_verdict(load_run(run_dir))
    print(path)
    if args.pdf:
        try:
            print(write_report_pdf(run_dir))
        except PdfError as exc:
            print(f"bench report: {exc}", file=sys.stderr)
            return EXIT_NO_REPORTS
    print(f"run verdict: {judged.verdict}", file=sys.stderr)
    return judged.exit_code


if __name__ == "__main__":
    sys.exit(main())

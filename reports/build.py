"""Build every report of a run directory from the record alone."""

from __future__ import annotations

from pathlib import Path

from bench.record.reader import load_run
from reports.context import build_context
from reports.html import write_report
from reports.junit import write_junit
from reports.summary import write_summary


def build_reports(run_dir: Path | str) -> Path:
    """Write report.html, junit.xml and summary.json into run_dir; return report.html's path.

    Works on a run that was cut off (status running/interrupted): the report says so.
    Raises FileNotFoundError when run_dir is not a directory.
    """
    run = load_run(run_dir)
    ctx = build_context(run)
    write_junit(ctx, run.path)
    write_summary(run, ctx, run.path)
    return write_report(ctx, run.path)

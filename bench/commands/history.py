"""`bench history [RUNS_DIR ...]`: the history of nights across many runs; exit 1 on a
regression (a measurement that drifts or changed the bad way, a flaky or newly failing case).

The index of runs lives in an SQLite file (default RUNS_DIR/history.sqlite) or, with
`--db postgresql://...`, in a PostgreSQL server shared by several rigs' nightly jobs. It is
brought up to date from the run directories on every call (they stay the truth); `--rebuild`
reads them all again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from bench.history.index import SyncReport, sync
from bench.history.store import HistoryDbError, HistoryStore, describe
from bench.history.trends import DEFAULT_ALPHA, History, analyse
from reports.history import write_history

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2
DEFAULT_SINCE = "30d"
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([hdw])$")
_SPAN_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def since_cutoff(text: str, now: dt.datetime | None = None) -> str | None:
    """`30d`, `12h`, `4w` back from now, an ISO date or time, or `all`; as the index's UTC text."""
    now = now or dt.datetime.now(dt.UTC)
    if text == "all":
        return None
    m = _SPAN.match(text)
    if m:
        start = now - float(m.group(1)) * _SPAN_UNITS[m.group(2)]
    else:
        try:
            start = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--since {text!r}: give a span (30d, 12h, 4w), an ISO date or time "
                "(2026-11-01) or all") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
    return start.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("--alpha must be between 0 and 1 (e.g. 0.05)")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench history", description=__doc__.split("\n\n")[0])
    p.add_argument("runs_dirs", nargs="*", type=Path, metavar="RUNS_DIR",
                   help="folders holding run directories, indexed before the history is drawn "
                        "(default: runs; none with --db: read the index only)")
    p.add_argument("--since", default=DEFAULT_SINCE,
                   help="the window: 30d, 12h, 4w back from now, an ISO date, or all "
                        f"(default {DEFAULT_SINCE})")
    p.add_argument("--rig", action="append", default=[], metavar="NAME",
                   help="only this rig (the rig file's name, e.g. sim or lab-room2); repeatable")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="where to write the page (default RUNS_DIR/history.html)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the index: an SQLite file path (default RUNS_DIR/history.sqlite) or "
                        "postgresql://user@host/dbname for one index shared by several rigs")
    p.add_argument("--rebuild", action="store_true",
                   help="read every run directory again instead of only the changed ones")
    p.add_argument("--alpha", type=_alpha, default=DEFAULT_ALPHA,
                   help="chance of any false alarm over all the trend tests of the history "
                        f"(default {DEFAULT_ALPHA})")
    return p


def terminal_summary(history: History, scan: SyncReport | None, html: Path) -> str:
    lines = []
    if scan is not None:
        lines.append(f"bench history: {scan.describe()}")
        lines += [f"  unreadable  {u}" for u in scan.unreadable]
    for rig in history.rigs:
        changes = sum(1 for n in rig.nights if n.changes)
        lines.append(f"  rig {rig.rig}: {len(rig.nights)} nights on {', '.join(rig.hosts)}, "
                     f"{len(rig.cases)} cases, {len(rig.trends)} measurements, "
                     f"{changes} night(s) with a firmware or configuration change")
    if not history.rigs:
        lines.append("  no run in the window")
    lines += [f"  REGRESSION  {r}" for r in history.regressions]
    n = len(history.regressions)
    lines.append(f"{n} regression(s)" if n else "no regression")
    lines.append(f"history: {html}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        cutoff = since_cutoff(args.since)
    except argparse.ArgumentTypeError as exc:
        p.print_usage(sys.stderr)
        print(f"bench history: {exc}", file=sys.stderr)
        return EXIT_USAGE
    runs_dirs: list[Path] = args.runs_dirs or ([] if args.db else [Path("runs")])
    missing = [str(d) for d in runs_dirs if not d.is_dir()]
    if missing:
        print(f"bench history: not a folder of run directories: {', '.join(missing)}",
              file=sys.stderr)
        return EXIT_USAGE
    home = runs_dirs[0] if runs_dirs else Path(".")
    db = args.db or str(home / "history.sqlite")
    out = args.output or home / "history.html"
    if out.is_dir():
        out = out / "history.html"
    try:
        with HistoryStore.open(db) as store:
            scan = sync(store, runs_dirs, rebuild=args.rebuild) if runs_dirs else None
            history = analyse(store.rows(cutoff, args.rig), args.alpha)
    except (HistoryDbError, OSError) as exc:
        print(f"bench history: {exc}", file=sys.stderr)
        return EXIT_USAGE
    window = f"since {cutoff} ({args.since})" if cutoff else "all nights"
    html = write_history(history, out, database=describe(db), since=window,
                         runs_dirs=[str(d) for d in runs_dirs],
                         generated_utc=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    print(terminal_summary(history, scan, html))
    return EXIT_REGRESSION if history.regressions else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""How long `bench history` takes over 100 nights of the core plan and over a year of nights,
and how much memory it needs.

    .venv/bin/python benchmarks/bench_history.py [--nights 100 365] [--keep DIR]

The nights are generated (tests/support/nightgen.py: the core plan's 52 cases and 55
measurements per night, a drift of 5 % a week injected into remote_start.response_time and a
case failing on a few nights, so the history has something to find). Each figure is one
`bench history` process: cold (the index built from every run directory), warm (nothing
changed: fingerprints only), and after one more night (one run directory read). Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.*

from support.nightgen import Injected, write_night, write_nights

from benchmarks._common import MachineWindow, table

WEEKLY_DRIFT = 0.05


def history(runs: Path, db: Path, out: Path) -> tuple[float, float, int, str]:
    """One `bench history` process: (wall s, peak RSS MB, exit code, its last lines)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "history", str(runs),
                             "--since", "all", "--db", str(db), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    return wall, usage.ru_maxrss / 1024, proc.returncode, output


def size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def run(nights: int, base: Path) -> list[list[object]]:
    runs = base / f"{nights}-nights"
    inject = Injected(drift={"remote_start.response_time": WEEKLY_DRIFT / 7},
                      failing={"TC_012_CS": {nights // 3, nights // 3 + 1, 2 * nights // 3}})
    t = time.perf_counter()
    dirs = write_nights(runs, nights, inject=inject)
    gen_s = time.perf_counter() - t
    record_mb = sum(p.stat().st_size for d in dirs for p in d.rglob("*") if p.is_file()) / 1e6
    db, out = base / f"{nights}.sqlite", base / f"{nights}.html"
    rows = []
    for label in ("cold (index built)", "warm (nothing changed)", "one more night"):
        if label == "one more night":
            meta = json.loads((dirs[-1] / "run.json").read_text("utf-8"))
            last = dt.datetime.fromisoformat(meta["started_utc"].replace("Z", "+00:00"))
            write_night(runs, nights, last + dt.timedelta(days=1), random.Random(1), inject,
                        "lab-room1", "rig-host-1", "SMARTDC-LAB-01")
        wall, rss, rc, output = history(runs, db, out)
        found = [ln for ln in output.splitlines() if "REGRESSION" in ln]
        drift = any("remote_start.response_time" in ln and "drift" in ln for ln in found)
        rows.append([f"{nights} nights", label, round(wall, 2), round(rss), rc, len(found),
                     "yes" if drift else "NO", f"{size_mb(db):.1f}", f"{size_mb(out):.2f}"])
    rows.insert(0, [f"{nights} nights", f"generate records ({record_mb:.0f} MB)",
                    round(gen_s, 1), "-", "-", "-", "-", "-", "-"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, nargs="+", default=[100, 365])
    parser.add_argument("--keep", type=Path, default=None, help="generate here and keep it")
    args = parser.parse_args()
    window = MachineWindow()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        rows = [row for n in args.nights for row in run(n, base)]
    window.stop()
    print(table(["history", "step", "wall (s)", "peak RSS (MB)", "exit", "regressions",
                 "drift found", "index (MB)", "page (MB)"], rows,
                [False, False, True, True, True, True, False, True, True]))
    print()
    print(window.describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

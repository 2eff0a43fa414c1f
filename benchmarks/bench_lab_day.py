"""What a lab run costs before its first case (not a test): the pre-flight, the station's fresh
boot by each method, and an instrument down, on the simulated station served apart.

`bench sim` runs on its own (sim/labrig.py, as on a lab bench: the bench does not start it);
`bench run` uses a lab rig (no [simulator]) with and without its mains instrument, several
times in a row against the same, still powered station. For each run: the wall time, the
pre-flight (every instrument identified), the fresh boot (power cycle, Reset(Hard), or the
station's own boot) and the time from the start to the first case; then a run with the EV
emulators' port closed (the pre-flight ERROR, exit 3), and the same case through plain
pytest (`pytest testplans/core --rig`).

    .venv/bin/python benchmarks/bench_lab_day.py [--runs 3] [--case TC_003_CS]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, table

from bench.record.reader import load_run
from sim.labrig import LabStation, free_port, lab_plan


def timed(cmd: list[str], timeout: float = 300) -> tuple[int, float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)
    return proc.returncode, time.monotonic() - t0, proc.stdout + proc.stderr


def newest(runs: Path) -> Path:
    return sorted(p for p in runs.iterdir() if p.is_dir())[-1]


def first_case_after_s(run_dir: Path) -> float | None:
    run = load_run(run_dir)
    start = run.meta.get("started_mono_ns")
    first = next((e["mono_ns"] for e in run.events if e["name"] == "case-start"), None)
    return (first - start) / 1e9 if start and first else None


def row(label: str, code: int, wall: float, run_dir: Path) -> list[str]:
    meta = json.loads((run_dir / "run.json").read_text("utf-8"))
    fresh, pre = meta.get("fresh_boot") or {}, meta.get("preflight") or {}
    first = first_case_after_s(run_dir)
    return [label, str(code), f"{wall:.1f}", f"{pre.get('seconds', float('nan')):.2f}",
            f"{fresh.get('method', '-')} {fresh.get('seconds', 0):.1f}" if fresh else "-",
            f"{first:.1f}" if first is not None else "-"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="runs in a row per rig")
    p.add_argument("--case", default="TC_003_CS")
    args = p.parse_args()
    machine = MachineWindow()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-lab-day-") as tmp:
        folder = Path(tmp)
        plan, runs = lab_plan(folder), folder / "runs"
        base = ["--plan", str(plan), "--cases", args.case, "--runs-dir", str(runs),
                "--no-reports"]
        with LabStation(folder) as lab:
            rigs = {"mains": lab.rig(), "no mains": lab.rig("no-mains.toml", mains=False)}
            for label, rig in rigs.items():
                for n in range(1, args.runs + 1):
                    code, wall, out = timed([sys.executable, "-m", "bench.cli", "run",
                                             "--rig", str(rig), *base])
                    if code != 0:
                        print(f"run {label} {n} exited {code}:\n{out[-3000:]}", file=sys.stderr)
                        return 1
                    rows.append(row(f"bench run, {label}, run {n}", code, wall, newest(runs)))
            code, wall, out = timed([sys.executable, "-m", "pytest", "testplans/core",
                                     "--rig", str(rigs["mains"]), "--plan", str(plan),
                                     "-k", args.case, "-q",
                                     "-o", f"cache_dir={folder / 'cache'}", "--runs-dir",
                                     str(runs), "--no-reports"])
            rows.append(row("plain pytest, mains", code, wall, newest(runs)))
            dead = free_port()
            down = lab.rig("down.toml", ev1={"port": dead}, ev2={"port": dead})
            code, wall, out = timed([sys.executable, "-m", "bench.cli", "run", "--rig",
                                     str(down), *base])
            rows.append(row("bench run, EV emulators down", code, wall, newest(runs)))
    machine.stop()
    print(table(["bench_lab_day: " + args.case, "exit", "wall (s)", "pre-flight (s)",
                 "fresh boot (s)", "first case after (s)"], rows,
                [False, True, True, True, False, True]))
    print(f"\n{machine.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

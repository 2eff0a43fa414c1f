"""What drivers that register themselves cost a command at start, and a rig file load.

    .venv/bin/python benchmarks/bench_registry.py [--runs 5] [--loads 50]

1. Cold, in fresh interpreters (each step in its own process, `--runs` times): scanning the
   installed distributions for the bench's entry points; importing the driver modules (what
   the bench paid before, when bench/verbs.py imported every driver); reading the registry
   (the scan, the imports and the checks of every registration); then load_rig(rigs/sim.toml)
   and Bench.from_rig on top. Median and max in ms.
2. Warm, in this process: one registry lookup, one load_rig, one Bench.from_rig (µs / ms).

Prints markdown tables; the load average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, Summary, table

from bench.config.rig import load_rig
from bench.verbs import Bench
from instruments.registry import registry

STEPS = {
    "entry points scanned (no import)": """
import importlib.metadata as md
from instruments.registry import _entry_points
t = time.perf_counter(); eps = _entry_points(md.distributions()); done = time.perf_counter()
""",
    "driver modules imported (the old cost)": """
t = time.perf_counter()
import bench.netcut, instruments.card_presenters, instruments.mains, instruments.modbus_ev
import instruments.pcsc_reader, instruments.scpi_meter, instruments.vpcd_card
done = time.perf_counter()
""",
    "registry read (scan + imports + checks)": """
t = time.perf_counter()
from instruments.registry import registry
registry(); done = time.perf_counter()
""",
    "+ load_rig(rigs/sim.toml)": """
t = time.perf_counter()
from bench.config.rig import load_rig
load_rig("rigs/sim.toml"); done = time.perf_counter()
""",
    "+ Bench.from_rig": """
t = time.perf_counter()
from bench.config.rig import load_rig
from bench.verbs import Bench
Bench.from_rig(load_rig("rigs/sim.toml"), record=None); done = time.perf_counter()
""",
}


def cold(code: str, runs: int) -> Summary:
    out = []
    for _ in range(runs):
        script = "import time\n" + code + "\nprint(done - t)\n"
        res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=True)
        out.append(float(res.stdout.strip()) * 1000)
    return Summary.of(out)


def warm(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--loads", type=int, default=50)
    args = p.parse_args()
    window = MachineWindow()
    rows = [(step, s.n, round(s.p50, 1), round(s.max, 1))
            for step, s in ((step, cold(code, args.runs)) for step, code in STEPS.items())]
    print(f"### Cold start, {args.runs} fresh interpreters per step\n")
    print(table(["step", "n", "median ms", "max ms"], rows, right=[False, True, True, True]))
    rig_path = REPO / "rigs" / "sim.toml"
    reg = registry()
    lookup_us = warm(lambda: reg.driver("scpi-meter"), 10000) * 1e6
    rig_ms = warm(lambda: load_rig(rig_path), args.loads) * 1e3
    rig = load_rig(rig_path)
    bench_ms = warm(lambda: Bench.from_rig(rig, record=None), args.loads) * 1e3
    print(f"\n### Warm, in one process ({len(reg.drivers)} drivers, {len(reg.dialects)} "
          "dialects)\n")
    print(table(["what", "per call"], [("registry().driver(name)", f"{lookup_us:.2f} µs"),
                                       ("load_rig(rigs/sim.toml)", f"{rig_ms:.2f} ms"),
                                       ("Bench.from_rig (6 instruments)", f"{bench_ms:.2f} ms")],
                right=[False, True]))
    print("\n" + window.stop().describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())

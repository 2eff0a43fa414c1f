"""Firmware Management and Remote Trigger on the simulated rig: download, install and upload
times, and TriggerMessage -> triggered message, as the cases measure them (not a test).

Runs `bench run --plan firmware` and `bench run --plan trigger` (each `--repeat N`) on a
simulated rig declaring both profiles (sim/profile_rigs.py), once per file protocol, then
prints each measurement's statistics from the run records. Every repetition is a case run of
its own; the figures are socket stamps at the bench (docs/checks.md).

    .venv/bin/python benchmarks/bench_firmware.py [--repeat 3] [--protocols FTP,HTTP]
                                                 [--timeout 600]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, Summary, table

from bench.record.reader import load_run
from sim.profile_rigs import write_profile_rig

MEASURED = ("triggered.update_firmware", "firmware.download_s", "firmware.transfer_s",
            "firmware.install_s", "triggered.get_diagnostics", "diagnostics.upload_s",
            "diagnostics.transfer_s", "triggered.trigger_message")


def run_plan(plan: str, rig: Path, runs: Path, repeat: int, timeout: float) -> Path:
    cmd = [sys.executable, "-m", "bench.cli", "run", "--plan", plan, "--rig", str(rig),
           "--runs-dir", str(runs), "--repeat", str(repeat), "--no-reports"]
    try:
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`bench run --plan {plan}` did not finish within {timeout:g} s") \
            from None
    if out.returncode != 0:
        raise RuntimeError(f"`bench run --plan {plan}` exited {out.returncode}: "
                           f"{out.stdout[-1500:]}")
    return sorted(runs.glob(f"*-{plan}"))[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--protocols", default="FTP,HTTP")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    machine = MachineWindow()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-firmware-") as tmp:
        for protocol in args.protocols.split(","):
            folder = Path(tmp) / protocol
            rig = write_profile_rig(folder, protocols=protocol)
            values: dict[str, list[float]] = collections.defaultdict(list)
            for plan in ("firmware", "trigger"):
                run = load_run(run_plan(plan, rig, folder / "runs", args.repeat, args.timeout))
                for m in run.measurements:
                    if m.get("case") and not m.get("scope") and m["name"] in MEASURED:
                        values[m["name"]] += (m.get("series") or
                                              ([m["value"]] if m.get("value") is not None else []))
            for name in MEASURED:
                s = Summary.of(values.get(name, []))
                rows.append([protocol, name, s.n, s.min * 1e3, s.p50 * 1e3, s.max * 1e3])
    machine.stop()
    print(table(["protocol", "measurement", "n", "min (ms)", "median (ms)", "max (ms)"], rows,
                [False, False, True, True, True, True]))
    print(f"\nrepeat {args.repeat} per plan; {machine.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Local Authorization List and Reservation campaigns on the simulated rig (not a test):
wall time of each, case durations, and the series the cases measure (ReserveNow -> Reserved,
CancelReservation -> Available, a reservation's release against its expiryDate).

Runs `bench run --plan localauth` and `--plan reservation` (each `--repeat N`) on a simulated
station declaring both profiles (tests/profile_rigs.py), reads the run records and prints
tables.

    .venv/bin/python benchmarks/bench_profiles.py [--repeat 3] [--timeout 900]
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import REPO, MachineWindow, table
from profile_rigs import profiles_rig

from bench.record.reader import load_run

SERIES = ("triggered.reserve_now", "triggered.cancel_reservation", "reservation.expiry_error",
          "ocpp.response_time.ReserveNow", "ocpp.response_time.SendLocalList")


def run(plan: str, rig: Path, runs: Path, repeat: int, timeout: float) -> tuple[int, float]:
    cmd = [sys.executable, "-m", "bench.cli", "run", "--plan", plan, "--rig", str(rig),
           "--runs-dir", str(runs), "--no-reports", "--repeat", str(repeat)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # bench run brings the rig to its safe state
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        raise RuntimeError(f"bench run --plan {plan} did not finish within {timeout:g} s; "
                           "stopped it") from None
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"bench run --plan {plan} exited {proc.returncode}: {err[-2000:]}")
    return proc.returncode, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    window = MachineWindow()
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as tmp:
        folder = Path(tmp)
        rig = profiles_rig(folder)
        summary, values = [], collections.defaultdict(list)
        durations: dict[str, list[float]] = collections.defaultdict(list)
        for plan in ("localauth", "reservation"):
            runs = folder / plan
            rc, wall = run(plan, rig, runs, args.repeat, args.timeout)
            record = load_run(sorted(runs.iterdir())[-1])
            counts = collections.Counter(v["verdict"] for v in record.verdicts)
            summary.append((plan, args.repeat, rc, round(wall, 1),
                            ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))))
            for v in record.verdicts:
                if v.get("duration_s") is not None:
                    durations[v["case"]].append(float(v["duration_s"]))
            for m in record.measurements:
                if any(m["name"] == s or m["name"].startswith(s + ".") for s in SERIES):
                    values[m["name"]].extend(m["series"] or [m["value"]])
    window.stop()
    print(table(["plan", "repeat", "exit", "wall s", "verdicts"], summary))
    print()
    print(table(["measurement", "n", "min", "median", "max"],
                [(name, len(v), round(min(v), 4), round(statistics.median(v), 4),
                  round(max(v), 4)) for name, v in sorted(values.items()) if v]))
    print()
    print(table(["case", "n", "median s", "max s"],
                [(c, len(d), round(statistics.median(d), 2), round(max(d), 2))
                 for c, d in sorted(durations.items())]))
    print()
    print(window.describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

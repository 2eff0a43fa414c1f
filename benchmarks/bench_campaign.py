"""Wall time of the core campaign on the simulated rig, and of building its report (not a test).

Runs `bench run --plan core --rig rigs/sim.toml --no-reports` once in a child process (its own
session, killed with its children past `--timeout`), reads the run record it wrote (cases,
verdicts, case durations, frames), then times `reports.build_reports` on that run. The
24-hour soak report figure is benchmarks/bench_report.py's (tests/support/soakgen.py), which
`make bench` runs as well.

    .venv/bin/python benchmarks/bench_campaign.py [--plan core] [--cases A,B] [--quick]
                                                 [--repeat-report 3] [--timeout 900]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, table

from bench.record.reader import load_run
from reports.build import build_reports

QUICK_CASES = "TC_003_CS,TC_010_CS"  # two short cases: bring-up and shut-down still timed


def run_campaign(plan: str, cases: str, runs_dir: Path, timeout: float) -> tuple[int, float,
                                                                                   str]:
    """(exit code, wall seconds, last output lines) of one `bench run`."""
    cmd = [sys.executable, "-m", "bench.cli", "run", "--plan", plan, "--rig", "rigs/sim.toml",
           "--runs-dir", str(runs_dir), "--no-reports"]
    if cases:
        cmd += ["--cases", cases]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # bench run brings the rig to its safe state
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        tail = out.decode(errors="replace").splitlines()[-5:]
        raise RuntimeError(f"`bench run --plan {plan}` did not finish within {timeout:g} s; "
                           f"stopped it; last output: {' | '.join(tail)}") from None
    wall = time.monotonic() - t0
    return proc.returncode, wall, out.decode(errors="replace")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plan", default="core")
    p.add_argument("--cases", default="", help="comma-separated case ids (default: the plan's)")
    p.add_argument("--quick", action="store_true", help=f"only {QUICK_CASES}")
    p.add_argument("--repeat-report", type=int, default=3, help="report builds to time")
    p.add_argument("--timeout", type=float, default=900.0, help="limit of the campaign (s)")
    args = p.parse_args()
    cases = QUICK_CASES if args.quick and not args.cases else args.cases
    machine = MachineWindow()
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        code, wall, output = run_campaign(args.plan, cases, Path(tmp), args.timeout)
        child_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        runs = [d for d in Path(tmp).iterdir() if d.is_dir()]
        if len(runs) != 1:
            print(f"bench run wrote {len(runs)} run directories; output:\n{output}",
                  file=sys.stderr)
            return 1
        run = load_run(runs[0])
        builds = []
        for _ in range(max(1, args.repeat_report)):
            t0 = time.perf_counter()
            build_reports(run.path)
            builds.append(time.perf_counter() - t0)
        report_kb = (run.path / "report.html").stat().st_size / 1e3
    machine.stop()
    verdicts = collections.Counter(v["verdict"] for v in run.verdicts)
    in_cases = sum(v.get("duration_s") or 0 for v in run.verdicts)
    plan_snap = run.snapshots.get("plan") or {}
    selected = cases or ", ".join(plan_snap.get("cases") or []) or (
        f"all of suites {', '.join(plan_snap.get('suites') or [])}")
    rows = [
        ["plan", f"{args.plan} ({selected})"],
        ["run status, exit code", f"{run.meta.get('status')}, {code}"],
        ["cases with a verdict", f"{len(run.verdicts)} ("
         + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) + ")"],
        ["wall time of `bench run --no-reports` (s)", f"{wall:.1f}"],
        ["of which in the cases (sum of case durations, s)", f"{in_cases:.1f}"],
        ["of which bring-up, between cases, shut-down (s)", f"{wall - in_cases:.1f}"],
        ["frames recorded", f"{len(run.frames)}"],
        ["events recorded", f"{len(run.events)}"],
        [f"build_reports of this run, best of {len(builds)} (s)", f"{min(builds):.2f}"],
        [f"build_reports of this run, median of {len(builds)} (s)",
         f"{statistics.median(builds):.2f}"],
        ["report.html", f"{report_kb:.0f} kB"],
        ["peak RSS of the `bench run` process", f"{child_rss_mb:.0f} MB"],
    ]
    print(table(["bench_campaign: simulated rig", "value"], rows, [False, False]))
    print(f"\n{machine.describe()}\n")
    case_rows = [[v["case"], v["verdict"], v.get("duration_s") or 0.0, v.get("message", "")[:80]]
                 for v in run.verdicts]
    print(table(["case", "verdict", "duration (s)", "message"], case_rows,
                [False, False, True, False]))
    print(f"\n{machine.describe()}")
    return 0 if code in (0, 1) and run.meta.get("status") == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())

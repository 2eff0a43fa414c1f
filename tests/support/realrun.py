"""One short `bench run` of the simulated rig, made once per test session for the report tests.

Scripted records (samplerun) pin every figure a report test asserts; this run is what the real
receiver, plugin and plans write: a boot case (TC_001_CS: power cycle, BootNotification,
Heartbeats), a charging case with sampled MeterValues and the energy comparison (TC_070_CS)
and a case that does not apply to the SmartDC (TC_017_1_CS, N/A). `bench run` builds
report.html, junit.xml, summary.json and, where Chromium is installed, report.pdf.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from test_plans_support import BenchRunResult, bench_run, fast_plan

CASES = ("TC_001_CS", "TC_070_CS", "TC_017_1_CS")
RUN_TIMEOUT_S = 240.0  # ~25 s on an idle 2-core machine; the suite shares the CPU


@dataclass(frozen=True)
class RealRun:
    path: Path  # the run directory: read it, never write into it (the session shares it)
    exit_code: int
    stdout: str
    stderr: str

    def copy(self, target: Path) -> Path:
        """A private copy of the run directory, for a test that rebuilds or alters it."""
        return Path(shutil.copytree(self.path, target / self.path.name))


def make_real_run(base: Path) -> RealRun:
    res: BenchRunResult = bench_run(base, "--plan", str(fast_plan(base)), "--cases",
                                    ",".join(CASES), timeout=RUN_TIMEOUT_S)
    if res.run_dir is None or not (res.run_dir / "report.html").is_file():
        raise AssertionError(f"bench run --cases {','.join(CASES)} left no report (exit "
                             f"{res.rc}); output: {res.stdout[-2000:]} {res.stderr[-2000:]}")
    return RealRun(res.run_dir, res.rc, res.stdout, res.stderr)

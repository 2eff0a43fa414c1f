"""Each Smart Charging fault profile is caught by the case that should catch it, on a rig whose
simulated station declares SmartCharging, while the conformant station passes those cases
(built like tests/test_faults_station.py: every run starts in one parallel fixture)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_plans_support import FAST_PLAN, REPO, BenchRunResult, bench_run

from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from reports.catalog import SMART, profile_of
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "limit_not_applied": ("TC_056_CS", "expected output current at most 16 A (+0.5 A) on "
                                       "connector 1 (reference meter 'meter')"),
    "composite_ignores_stack_level": ("TC_072_CS", "expected the composite schedule the bench "
                                                   "computes from the installed profiles (0 s: "
                                                   "5 A, 150 s: 8 A, 200 s: 10 A"),
    "tx_profile_other_transaction_accepted": (
        "TC_058_2_CS", "SetChargingProfile.conf status Rejected; the station answered "
                       "status='Accepted'"),
}
SMART_FAULTS = sorted(f for f in FAULTS
                      if any(profile_of(c) == SMART for c in FAULTS[f].affects))


def smart_rig(folder: Path, reaction_s: float = 2.0) -> Path:
    """rigs/sim.toml with a station that declares SmartCharging and a declared reaction time."""
    station = folder / "smart-station.toml"
    station.write_text("[station]\nsmart_charging = true\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace('feature_profiles = ["Core"]',
                        'feature_profiles = ["Core", "SmartCharging"]\n'
                        f"charging_profile_reaction_s = {reaction_s}")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "smart-rig.toml"
    rig.write_text(text, "utf-8")
    return rig


def smart_plan(folder: Path) -> Path:
    """The fast plan over the smartcharging suite, with short schedule periods."""
    plan = folder / "smart-fast.toml"
    plan.write_text(FAST_PLAN.replace('suites = ["core"]', 'suites = ["smartcharging"]')
                    + "schedule_period_s = 3\nlimit_hold_s = 0.4\nwatch_s = 1.0\n", "utf-8")
    return plan


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def smart_runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """`ok` (the conformant station, every catching case in one run) and `fault:NAME`."""
    cases = ",".join(sorted({c for c, _ in CAUGHT_BY.values()}))
    jobs = {"ok": ["--cases", cases]}
    jobs.update({f"fault:{f}": ["--cases", case, "--fault", f]
                 for f, (case, _) in CAUGHT_BY.items()})
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        return bench_run(tmp, "--plan", str(smart_plan(tmp)), "--rig", str(smart_rig(tmp)),
                         *jobs[name], "--no-reports", timeout=240)

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("fault", SMART_FAULTS)
def test_smart_fault_is_caught(fault: str, real_parts,
                               smart_runs: dict[str, BenchRunResult]) -> None:
    assert fault in CAUGHT_BY, f"no case is known to catch the fault {fault}: add its row"
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = smart_runs[f"fault:{fault}"]
    v = res.verdicts()[case]
    assert v["verdict"] == "FAIL", v
    assert text in v["message"], v["message"]
    assert res.rc == 1, res.stdout + res.stderr
    judged = run_verdict(load_run(res.run_dir))
    assert (judged.verdict, judged.exit_code) == ("FAIL", res.rc)


def test_conformant_station_passes_the_smart_cases(real_parts,
                                                   smart_runs: dict[str, BenchRunResult]) -> None:
    res = smart_runs["ok"]
    verdicts = res.verdicts()
    for case, _ in CAUGHT_BY.values():
        assert verdicts[case]["verdict"] == "PASS", verdicts[case]["message"]
    assert res.rc == 0, res.stdout + res.stderr
    assert run_verdict(load_run(res.run_dir)).verdict == "PASS"

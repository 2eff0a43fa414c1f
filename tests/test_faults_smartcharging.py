"""Each Smart Charging fault profile is caught by the case that should catch it, on a rig whose
simulated station declares SmartCharging, while the conformant station passes those cases;
each Smart Charging behaviour profile (conformant but unusual) passes its cases and shows in
the record (built like tests/test_faults_station.py and tests/test_behaviours_station.py:
every run starts in one parallel fixture)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_plans_support import FAST_PLAN, REPO, BenchRunResult, assert_fault_caught, bench_run

from bench.record.reader import RunData, load_run
from bench.record.verdict import run_verdict
from reports.catalog import SMART, profile_of
from sim.station.behaviours import BEHAVIOURS
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
    "tx_profile_without_transaction_accepted": (
        "TC_058_1_CS", "SetChargingProfile.conf status Rejected; the station answered "
                       "status='Accepted'"),
    "remote_start_any_profile_accepted": (
        "TC_060_CS", "RemoteStartTransaction.conf status Rejected; the station answered "
                     "status='Accepted'"),
    "clear_profile_kept": ("TC_067_CS", "step 'GetCompositeSchedule shows 16 A again'"),
}
# faults of separate code paths (a refusal, a refusal, a deletion) whose cases leave nothing
# behind for the others: they share one run, each failing its own case with its own text
SHARED_RUN = ("tx_profile_without_transaction_accepted", "remote_start_any_profile_accepted",
              "clear_profile_kept")
SMART_FAULTS = sorted(f for f in FAULTS
                      if any(profile_of(c) == SMART for c in FAULTS[f].affects))
SMART_BEHAVIOURS = sorted(b for b in BEHAVIOURS
                          if any(profile_of(c) == SMART for c in BEHAVIOURS[b].passes))


def answers_to(run: RunData, action: str) -> list[dict[str, Any]]:
    """The station's answers (CALLRESULT or CALLERROR) to the bench's `action` CALLs."""
    ids = {f["msg_id"] for f in run.frames if f["direction"] == "out" and f["msg_type"] == 2
           and f["action"] == action}
    return [f for f in run.frames if f["direction"] == "in" and f["msg_type"] in (3, 4)
            and f["msg_id"] in ids]


def callerrors_for_refusals(run: RunData) -> str | None:
    for action in ("SetChargingProfile", "RemoteStartTransaction"):
        if not any(f["msg_type"] == 4 and "PropertyConstraintViolation" in f["raw"]
                   for f in answers_to(run, action)):
            return f"no CALLERROR PropertyConstraintViolation to {action}"
    return None


def repeated_limits(run: RunData) -> str | None:
    for f in answers_to(run, "GetCompositeSchedule"):
        periods = json.loads(f["raw"])[2].get("chargingSchedule", {}).get(
            "chargingSchedulePeriod", [])
        if any(a["limit"] == b["limit"] for a, b in itertools.pairwise(periods)):
            return None
    return "no GetCompositeSchedule answer with two periods of the same limit"


def under_the_limit_with_margin(run: RunData) -> str | None:
    errors = [m for m in run.measurements if m.get("name") == "smart.limit_error"]
    if errors and all((m.get("stats") or {}).get("max", 0.0) < -0.5 for m in errors):
        return None
    return "the output was not held clearly under the limit (smart.limit_error max >= -0.5 A)"


# behaviour -> what in its run's record shows it happened
EXERCISED: dict[str, Callable[[RunData], str | None]] = {
    "smart_refusals_as_callerror": callerrors_for_refusals,
    "composite_in_minute_slots": repeated_limits,
    "limit_with_margin": under_the_limit_with_margin,
}


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
    """`ok` (the conformant station, every catching case in one run), `fault:NAME`,
    `faults:shared` (SHARED_RUN) and `behaviours` (every Smart Charging behaviour on, their
    cases)."""
    cases = ",".join(sorted({c for c, _ in CAUGHT_BY.values()}))
    jobs = {"ok": ["--cases", cases]}
    # the behaviours are independent of each other: one run with all of them
    behaviour_cases = ",".join(sorted({c for b in SMART_BEHAVIOURS for c in BEHAVIOURS[b].passes}))
    jobs["behaviours"] = ["--cases", behaviour_cases,
                          *(arg for b in SMART_BEHAVIOURS for arg in ("--behaviour", b))]
    jobs.update({f"fault:{f}": ["--cases", case, "--fault", f]
                 for f, (case, _) in CAUGHT_BY.items() if f not in SHARED_RUN})
    jobs["faults:shared"] = ["--cases", ",".join(sorted(CAUGHT_BY[f][0] for f in SHARED_RUN)),
                             *(arg for f in SHARED_RUN for arg in ("--fault", f))]
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
    res = smart_runs["faults:shared" if fault in SHARED_RUN else f"fault:{fault}"]
    assert_fault_caught(res, case, text)


def test_conformant_station_passes_the_smart_cases(real_parts,
                                                   smart_runs: dict[str, BenchRunResult]) -> None:
    res = smart_runs["ok"]
    verdicts = res.verdicts()
    for case, _ in CAUGHT_BY.values():
        assert verdicts[case]["verdict"] == "PASS", verdicts[case]["message"]
    assert res.rc == 0, res.stdout + res.stderr
    assert run_verdict(load_run(res.run_dir)).verdict == "PASS"


@pytest.mark.parametrize("behaviour", SMART_BEHAVIOURS)
def test_smart_behaviour_passes_its_cases(behaviour: str, real_parts,
                                          smart_runs: dict[str, BenchRunResult]) -> None:
    assert behaviour in EXERCISED, f"behaviour {behaviour} has no EXERCISED row: add one"
    res = smart_runs["behaviours"]
    verdicts = res.verdicts()
    for case in BEHAVIOURS[behaviour].passes:
        assert verdicts[case]["verdict"] == "PASS", verdicts[case]["message"]
    run = load_run(res.run_dir)
    assert behaviour in run.meta["behaviours"]
    missing = EXERCISED[behaviour](run)
    assert missing is None, f"{behaviour} did not show: {missing}"

"""Each Local Authorization List and Reservation fault profile of the station simulator is
caught by the case that should catch it; the conformant station passes every case of both
suites (tests/test_faults_station.py does the same for Core).

Both profiles need a station that declares them (tests/profile_rigs.py): the SmartDC rig is
Core only. The refusing station (no storage for a list, reservations refused, none of
connector 0) runs the three cases only it can pass. Every run starts in one parallel fixture.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from profile_rigs import profiles_rig
from test_plans_support import BenchRunResult, bench_run

from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "local_list_ignored": ("TC_008_CS", "forbidden Authorize"),
    "version_mismatch_accepted": ("TC_043_2_CS", "status VersionMismatch; the station answered "
                                                 "status='Accepted'"),
    "differential_replaces_list": ("TC_043_CS", "output current above 1 A"),
    "reservation_other_tag_starts": ("TC_046_1_CS", "no Authorize for card 04A1B2C3D4E5F7 "
                                                    "while connector 1 is reserved"),
    "start_without_reservation_id": ("TC_046_2_CS", "sent reservationId (left out)"),
    "reservation_never_expires": ("TC_047_CS", "StatusNotification"),
    "reserve_occupied_accepted": ("TC_048_2_CS", "status Occupied; the station answered "
                                                 "status='Accepted'"),
    "cancel_unknown_accepted": ("TC_052_CS", "never reserved).conf status Rejected; the "
                                             "station answered status='Accepted'"),
}
# the conformant station: every case of both suites, on the rig each needs
CONFORMANT: dict[str, tuple[bool, list[str]]] = {
    "localauth": (False, ["TC_008_CS", "TC_042_1_CS", "TC_042_2_CS", "TC_043_CS",
                          "TC_043_1_CS", "TC_043_2_CS"]),
    "reservation-a": (False, ["TC_047_CS", "TC_046_1_CS", "TC_046_2_CS", "TC_048_1_CS",
                              "TC_048_2_CS", "TC_048_3_CS"]),
    "reservation-b": (False, ["TC_049_CS", "TC_050_1_CS", "TC_050_2_CS", "TC_050_3_CS",
                              "TC_051_CS", "TC_052_CS", "TC_053_CS"]),
    "refusing": (True, ["TC_043_3_CS", "TC_048_4_CS", "TC_050_4_CS"]),
}
PARALLEL_RUNS = 6

PLAN = """
name = "profiles-fast"
description = "Local list and Reservation cases with short windows"
suites = ["localauth", "reservation"]

[sim_settings]
meter_value_sample_interval_s = 2
heartbeat_interval_s = 3
connection_timeout_s = 6
interval_tolerance_s = 0.25
max_time_deviation_s = 1
message_timeout_s = 4
boot_timeout_s = 8
settle_timeout_s = 8
offline_window_s = 4
card_watch_s = 1.5
ev_current_a = 200
ev_voltage_v = 800
reservation_expire_s = 2
"""


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    """Requested before the runs: a missing part skips (fails in CI) before any run."""
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """`ok:NAME` (the conformant station, a group of cases) and `fault:NAME` (its case)."""
    # name -> (refusing rig, the cases, more arguments)
    jobs: dict[str, tuple[bool, list[str], list[str]]] = {
        f"ok:{n}": (refusing, cases, []) for n, (refusing, cases) in CONFORMANT.items()}
    jobs.update({f"fault:{f}": (False, [case], ["--fault", f])
                 for f, (case, _) in CAUGHT_BY.items()})
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        refusing, cases, more = jobs[name]
        plan = tmp / "plan.toml"
        plan.write_text(PLAN, "utf-8")
        return bench_run(tmp, "--plan", str(plan), "--rig", str(profiles_rig(tmp, refusing)),
                         "--cases", ",".join(cases), *more, "--no-reports", timeout=240)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_fault_is_caught(fault: str, real_parts, runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = runs[f"fault:{fault}"]
    v = res.verdicts()[case]
    assert v["verdict"] == "FAIL", v
    assert text in v["message"], v["message"]
    assert res.rc == 1, res.stdout + res.stderr
    judged = run_verdict(load_run(res.run_dir))
    assert (judged.verdict, judged.exit_code) == ("FAIL", res.rc)


@pytest.mark.parametrize("group", sorted(CONFORMANT))
def test_conformant_station_passes(group: str, real_parts,
                                   runs: dict[str, BenchRunResult]) -> None:
    res = runs[f"ok:{group}"]
    verdicts = res.verdicts()
    for case in CONFORMANT[group][1]:
        assert verdicts[case]["verdict"] == "PASS", (case, verdicts[case]["message"])
    assert res.rc == 0, res.stdout + res.stderr
    assert run_verdict(load_run(res.run_dir)).verdict == "PASS"


def test_every_case_of_both_suites_is_proven_conformant() -> None:
    suites = Path(__file__).resolve().parents[1] / "testplans"
    ids = {p.stem.removeprefix("test_").upper()
           for s in ("localauth", "reservation") for p in (suites / s).glob("test_tc_*.py")}
    proven = {c for _, cases in CONFORMANT.values() for c in cases}
    assert ids == proven

"""Each Local Authorization List and Reservation fault profile of the station simulator is
caught by the case that should catch it; the conformant station passes every case of both
suites, also with the behaviour profiles of both (tests/test_faults_station.py and
tests/test_behaviours_station.py do the same for Core).

Both profiles need a station that declares them (tests/profile_rigs.py): the SmartDC rig is
Core only. The refusing station (no storage for a list, reservations refused, none of
connector 0) runs the three cases only it can pass. Every run starts in one parallel fixture.

To keep the runs few, one run holds several faults (or behaviours) whose paths do not cross:
each fault touches only the calls of the case that catches it (FAULT_RUNS), and each case's
FAIL must still name its own fault's non-conformance.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from profile_rigs import profiles_rig
from test_plans_support import REPO, BenchRunResult, assert_fault_caught, bench_run

from bench.record.reader import RunData, load_run
from bench.record.verdict import run_verdict
from sim.station.behaviours import BEHAVIOURS
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "local_list_ignored": ("TC_008_CS", "forbidden Authorize"),
    "version_mismatch_accepted": ("TC_043_2_CS", "status VersionMismatch; the station answered "
                                                 "status='Accepted'"),
    "differential_replaces_list": ("TC_043_CS", "output current above 1 A"),
    "differential_ignores_removal": ("TC_043_CS", "expected Authorize (idTag='04A1B2C3D4E5F7')"),
    "reservation_other_tag_starts": ("TC_046_1_CS", "no Authorize for card 04A1B2C3D4E5F7 "
                                                    "while connector 1 is reserved"),
    "start_without_reservation_id": ("TC_046_2_CS", "sent reservationId (left out)"),
    "reservation_never_expires": ("TC_047_CS", "StatusNotification"),
    "reserve_occupied_accepted": ("TC_048_2_CS", "status Occupied; the station answered "
                                                 "status='Accepted'"),
    "empty_list_reports_version": ("TC_042_2_CS", "listVersion 0 (an empty list reads 0"),
    "reservation_ignores_parent": ("TC_053_CS", "expected the reserved connector 1 to take "
                                                "card BB2TBR09"),
    "cancel_keeps_reservation": ("TC_051_CS", "after the CancelReservation (the reservation "
                                              "ends)"),
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
# run -> the faults it switches on, each caught by its own case (paths that do not cross)
FAULT_RUNS: dict[str, list[str]] = {
    "statuses": ["local_list_ignored", "version_mismatch_accepted", "reserve_occupied_accepted",
                 "cancel_unknown_accepted", "empty_list_reports_version",
                 "reservation_ignores_parent"],
    "updates": ["differential_replaces_list", "start_without_reservation_id"],
    # alone: its fault keeps every cancelled reservation, also those the maintenance cancels
    "cancel": ["cancel_keeps_reservation"],
    "removal": ["differential_ignores_removal"],  # TC_043 has a fault in "updates" already
    "other-tag": ["reservation_other_tag_starts", "reservation_never_expires"],
}
PARALLEL_RUNS = 11  # every run at once: they mostly wait on the station's timers


def _frames(run: RunData, direction: str, msg_type: int, action: str | None = None) -> list:
    return [f for f in run.frames if f["direction"] == direction and f["msg_type"] == msg_type
            and (action is None or f["action"] == action)]


def callerror_for_local_list(run: RunData) -> str | None:
    asked = {f["msg_id"] for a in ("GetLocalListVersion", "SendLocalList")
             for f in _frames(run, "out", 2, a)}
    errors = [f for f in _frames(run, "in", 4) if f["msg_id"] in asked and "NotSupported"
              in f["raw"]]
    return None if errors else "no CALLERROR NotSupported to a local-list CALL"


def reserved_start_without_authorize(run: RunData) -> str | None:
    starts = [f for f in _frames(run, "in", 2, "StartTransaction") if "reservationId" in f["raw"]]
    if not starts:
        return "no StartTransaction with a reservationId"
    tag = json.loads(starts[0]["raw"])[-1]["idTag"]
    asked = [f for f in _frames(run, "in", 2, "Authorize") if tag in f["raw"]]
    return None if not asked else f"the station sent Authorize for {tag}"


# behaviour -> {case: check of the record -> None or what did not show}
EXERCISED = {
    "local_list_off_callerror": {"TC_042_1_CS": callerror_for_local_list,
                                 "TC_043_1_CS": callerror_for_local_list},
    "reserved_tag_not_authorized": {"TC_046_1_CS": reserved_start_without_authorize},
}

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
    """`ok:NAME` (the conformant station, a group of cases), `faults:NAME` (FAULT_RUNS, the
    case of each fault) and `behaviours` (every behaviour, the cases each must pass)."""
    # name -> (refusing rig, the cases, more arguments)
    jobs: dict[str, tuple[bool, list[str], list[str]]] = {
        f"ok:{n}": (refusing, cases, []) for n, (refusing, cases) in CONFORMANT.items()}
    for name, faults in FAULT_RUNS.items():
        jobs[f"faults:{name}"] = (False, [CAUGHT_BY[f][0] for f in faults],
                                  [arg for f in faults for arg in ("--fault", f)])
    jobs["behaviours"] = (False, [c for cases in EXERCISED.values() for c in cases],
                          [arg for b in EXERCISED for arg in ("--behaviour", b)])
    jobs["misdeclared"] = (False, ["TC_049_CS"], [])  # the rig claims connector 0, the station not
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        refusing, cases, more = jobs[name]
        plan = tmp / "plan.toml"
        plan.write_text(PLAN, "utf-8")
        rig = profiles_rig(tmp, refusing)
        if name == "misdeclared":
            station = tmp / "profiles-station.toml"
            station.write_text(station.read_text("utf-8").replace(
                "reserve_connector_zero = true", "reserve_connector_zero = false"), "utf-8")
        return bench_run(tmp, "--plan", str(plan), "--rig", str(rig),
                         "--cases", ",".join(cases), *more, "--no-reports", timeout=240)

    assert len(jobs) <= PARALLEL_RUNS  # one wave: the fixture lasts as long as its longest run
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_fault_is_caught(fault: str, real_parts, runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = runs[next(f"faults:{n}" for n, faults in FAULT_RUNS.items() if fault in faults)]
    assert_fault_caught(res, case, text)


def test_every_fault_has_its_run_and_case() -> None:
    ours = {f for faults in FAULT_RUNS.values() for f in faults}
    assert ours == set(CAUGHT_BY)
    for faults in FAULT_RUNS.values():  # one case per fault in a run: no fault hides another
        assert len({CAUGHT_BY[f][0] for f in faults}) == len(faults)


@pytest.mark.parametrize("group", sorted(CONFORMANT))
def test_conformant_station_passes(group: str, real_parts,
                                   runs: dict[str, BenchRunResult]) -> None:
    res = runs[f"ok:{group}"]
    verdicts = res.verdicts()
    for case in CONFORMANT[group][1]:
        assert verdicts[case]["verdict"] == "PASS", (case, verdicts[case]["message"])
    assert res.rc == 0, res.stdout + res.stderr
    assert run_verdict(load_run(res.run_dir)).verdict == "PASS"


@pytest.mark.parametrize("behaviour", sorted(EXERCISED))
def test_behaviour_passes_its_cases(behaviour: str, real_parts,
                                    runs: dict[str, BenchRunResult]) -> None:
    assert set(BEHAVIOURS[behaviour].passes) == set(EXERCISED[behaviour])
    res = runs["behaviours"]
    verdicts = res.verdicts()
    run = load_run(res.run_dir)
    for case, showed in EXERCISED[behaviour].items():
        assert verdicts[case]["verdict"] == "PASS", (case, verdicts[case]["message"])
        missing = showed(run)
        assert missing is None, f"{behaviour} did not show in {case}: {missing}"
    assert res.rc == 0, res.stdout + res.stderr


def test_smartdc_keeps_both_profiles_not_applicable() -> None:
    """The SmartDC rig (Core only): every case N/A, the reason showing what the case needs
    and what the rig says (the runner records that reason as the verdict's message)."""
    from bench.config.rig import load_rig
    from bench.plugin.applicability import not_applicable_reason
    from bench.plugin.plan import Plan, case_index

    rig = load_rig(REPO / "rigs" / "sim.toml")
    index = case_index(Plan(name="profiles", suites=["localauth", "reservation"]))
    assert set(index) == {c for _, cases in CONFORMANT.values() for c in cases}
    for case, entry in index.items():
        reason = not_applicable_reason(entry["keywords"].get("requires", ()), rig)
        assert reason and "requires feature profile" in reason, (case, reason)
        assert "the rig says [pics] feature_profiles = ['Core']" in reason, reason


def test_a_rig_that_misdeclares_connector_zero_is_a_bench_error(
        real_parts, runs: dict[str, BenchRunResult]) -> None:
    res = runs["misdeclared"]
    v = res.verdicts()["TC_049_CS"]
    assert v["verdict"] == "ERROR", v
    assert ("the rig says [hardware] reserve_connector_zero = true; the station reports "
            "'false' for ReserveConnectorZeroSupported") in v["message"], v["message"]
    assert res.rc == 3, res.stdout + res.stderr


def test_maintenance_cancels_what_a_case_left(real_parts,
                                              runs: dict[str, BenchRunResult]) -> None:
    """TC_048_2 with reserve_occupied_accepted leaves an accepted reservation: the maintenance
    cancels it (CancelReservation answered Accepted), TC_008 leaves a list: cleared."""
    run = load_run(runs["faults:statuses"].run_dir)
    steps = {(e["case"], e["name"]): e["detail"] for e in run.events if e["kind"] == "step"
             and e["name"].startswith("maintenance: ")}
    cancel = [d for (case, name), d in steps.items()
              if case == "TC_048_2_CS" and name.startswith("maintenance: reservation ")]
    assert cancel and cancel[0].get("ok"), steps
    assert steps[("TC_008_CS", "maintenance: local list cleared")].get("ok"), steps
    answers = {f["msg_id"]: f["raw"] for f in run.frames if f["msg_type"] == 3}
    cancels = [f for f in run.frames if f["direction"] == "out" and f["action"] ==
               "CancelReservation" and f["case"] == "TC_048_2_CS"]
    assert cancels and '"Accepted"' in answers[cancels[0]["msg_id"]]


def test_every_case_of_both_suites_is_proven_conformant() -> None:
    suites = Path(__file__).resolve().parents[1] / "testplans"
    ids = {p.stem.removeprefix("test_").upper()
           for s in ("localauth", "reservation") for p in (suites / s).glob("test_tc_*.py")}
    proven = {c for _, cases in CONFORMANT.values() for c in cases}
    assert ids == proven

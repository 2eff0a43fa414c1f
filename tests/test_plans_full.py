"""Plan `full` and the all-profiles rig: every profile suite named, a suite not written yet
accepted (and said), a misspelt one refused; the socket rig declares every profile and makes
the socket-rig Core cases apply, while the SmartDC rig keeps them and the optional profiles
N/A with a reason that shows both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config.rig import load_rig
from bench.plugin.applicability import not_applicable_reason
from bench.plugin.plan import PROFILE_SUITES, TESTPLANS_DIR, PlanError, case_index, load_plan

REPO = Path(__file__).resolve().parents[1]
SOCKET_CASES = ("TC_005_1_CS", "TC_017_1_CS", "TC_018_1_CS", "TC_024_CS", "TC_030_CS")


def test_full_plan_names_every_profile_suite() -> None:
    plan = load_plan("full")
    assert plan.suites == ["core", "localauth", "firmware", "reservation", "trigger",
                           "smartcharging"]
    present = [s for s in plan.suites if (TESTPLANS_DIR / s).is_dir()]
    assert plan.absent_suites == [s for s in plan.suites if s not in present]
    assert plan.paths() == [TESTPLANS_DIR / s for s in present]
    assert plan.as_dict()["absent_suites"] == plan.absent_suites  # the record says so
    index = case_index(plan)
    assert set(SOCKET_CASES) <= set(index) and "TC_001_CS" in index


def test_a_suite_that_is_no_profile_must_exist(tmp_path: Path) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text('suites = ["core", "smartcharing"]\n', "utf-8")
    with pytest.raises(PlanError, match=r"'smartcharing' is not a folder .* profile suites "
                                        + ", ".join(PROFILE_SUITES)):
        load_plan(plan)
    plan.write_text('suites = "core"\n', "utf-8")
    with pytest.raises(PlanError, match="must be a list of folder names"):
        load_plan(plan)


def test_all_profiles_rig_declares_every_profile_and_a_socket() -> None:
    rig = load_rig(REPO / "rigs" / "sim-all-profiles.toml")
    assert rig.pics["feature_profiles"] == ["Core", "FirmwareManagement",
                                            "LocalAuthListManagement", "Reservation",
                                            "SmartCharging", "RemoteTrigger"]
    hw = rig.hardware
    assert (hw["fixed_cable"], hw["connector_lock"], hw["authorization_cache"],
            hw["local_auth_list"]) == (False, True, True, True)
    assert {i.params["register_map"] for i in rig.instruments_of_role("ev")} == {"bench-ev-v2"}
    assert rig.simulator is not None and rig.simulator.station_config is not None
    assert "fixed_cable = false" in rig.simulator.station_config.read_text("utf-8")
    index = case_index(load_plan("full"))
    for case in SOCKET_CASES:
        assert not_applicable_reason(index[case]["keywords"].get("requires", ()), rig,
                                     None) is None, case


def test_smartdc_rig_keeps_socket_cases_and_profiles_na() -> None:
    rig = load_rig(REPO / "rigs" / "sim.toml")
    index = case_index(load_plan("full"))
    reason = not_applicable_reason(index["TC_024_CS"]["keywords"]["requires"], rig, None)
    assert reason is not None and "socket" in reason and "fixed_cable = true" in reason
    reason = not_applicable_reason(("profile:SmartCharging",), rig, None)
    assert reason is not None and "SmartCharging" in reason and "['Core']" in reason

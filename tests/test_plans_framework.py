"""Framework pieces of the test plans: applicability from the rig, limits from data, plans and
settings, configuration pre-state set, read back and restored around a case."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_plans_support import REPO, plan_env, run_cases, sim_rig

from bench.plugin.applicability import not_applicable_reason
from bench.plugin.limits import LimitError, LimitMap, evaluate
from bench.plugin.plan import Plan, PlanError, case_index, effective_settings, load_plan

pytest_plugins = ["pytester"]


def case_markers() -> dict[str, dict]:
    """Every Core case's octt marker keywords (id -> keywords), read from the source."""
    return {cid: c["keywords"] for cid, c in case_index(load_plan("core")).items()}


# docs/catalogue.md, Applicability: what applies to the SmartDC (Core, DC, fixed cable, no
# cache, no lock, no UPS)
SMARTDC_APPLICABLE = {
    "TC_001_CS", "TC_002_CS", "TC_003_CS", "TC_004_1_CS", "TC_004_2_CS", "TC_005_2_CS",
    "TC_005_3_CS", "TC_068_CS", "TC_069_CS", "TC_010_CS", "TC_011_1_CS", "TC_011_2_CS",
    "TC_012_CS", "TC_013_CS", "TC_014_CS", "TC_015_CS", "TC_016_CS", "TC_017_2_CS",
    "TC_018_2_CS", "TC_019_CS", "TC_021_CS", "TC_070_CS", "TC_071_CS", "TC_023_CS",
    "TC_026_CS", "TC_027_CS", "TC_028_CS", "TC_031_CS", "TC_032_2_CS", "TC_034_CS",
    "TC_035_CS", "TC_036_CS", "TC_037_1_CS", "TC_037_2_CS", "TC_037_3_CS", "TC_038_CS",
    "TC_039_CS", "TC_040_1_CS", "TC_040_2_CS", "TC_041_CS", "TC_062_CS"}
# N/A, with the word its reason must contain
SMARTDC_NOT_APPLICABLE = {
    "TC_005_1_CS": "socket", "TC_017_1_CS": "socket", "TC_018_1_CS": "socket",
    "TC_024_CS": "socket", "TC_030_CS": "connector_lock", "TC_007_CS": "authorization_cache",
    "TC_061_CS": "authorization_cache", "TC_032_1_CS": "backup_power"}


def test_smartdc_applicability_follows_the_catalogue() -> None:
    """With the SmartDC defaults the applicable set is that of docs/catalogue.md; the others are
    N/A with a reason naming the missing feature."""
    rig = sim_rig()
    reasons = {cid: not_applicable_reason(kw.get("requires", ()), rig)
               for cid, kw in case_markers().items()}
    # both sides: what the case needs, and what the rig says (not the requirement again)
    assert reasons.get("TC_005_1_CS") == ("requires a socket (no fixed cable); the rig says "
                                          "[hardware] fixed_cable = true")
    for cid, reason in reasons.items():
        if cid in SMARTDC_APPLICABLE:
            assert reason is None, (cid, reason)
        elif cid in SMARTDC_NOT_APPLICABLE:
            assert reason and SMARTDC_NOT_APPLICABLE[cid] in reason, (cid, reason)
    assert set(reasons) & SMARTDC_APPLICABLE, "no applicable case found"


def test_applicability_follows_the_hardware_feature_set() -> None:
    socket_rig = sim_rig(fixed_cable=False, backup_power=True)
    assert not_applicable_reason(("socket",), socket_rig) is None
    assert not_applicable_reason(("backup_power",), socket_rig) is None
    assert not_applicable_reason(("not:backup_power",), socket_rig) == (
        "does not apply to a station with back-up power; the rig says [hardware] "
        "backup_power = true")
    assert not_applicable_reason(("cache",), socket_rig) == (
        "requires an authorization cache; the rig says [hardware] authorization_cache = false")
    no_meter = dataclasses.replace(socket_rig, instruments={
        k: v for k, v in socket_rig.instruments.items() if k != "meter"})
    why = not_applicable_reason(("instrument:meter",), no_meter)
    assert why.startswith("requires an instrument of role 'meter'; the rig's [instruments] "
                          "are: card (card), ev1 (ev)"), why
    config = [{"key": "StopTransactionOnEVSideDisconnect", "readonly": True}]
    assert not_applicable_reason(("config_rw:StopTransactionOnEVSideDisconnect",), socket_rig,
                                 config) == ("requires configuration key "
                                             "StopTransactionOnEVSideDisconnect to be writable; "
                                             "the station reports it read-only")
    assert "feature profile Reservation" in not_applicable_reason(("profile:Reservation",),
                                                                  socket_rig)
    config = [{"key": "StopTransactionOnEVSideDisconnect", "value": "true", "readonly": True}]
    assert "read-only" in not_applicable_reason(
        ("config_rw:StopTransactionOnEVSideDisconnect",), socket_rig, config)
    with pytest.raises(ValueError, match="unknown requirement"):
        not_applicable_reason(("sockett",), socket_rig)


def test_limits_come_from_the_pics_via_the_limit_map() -> None:
    rig = sim_rig()
    limits = LimitMap.load()
    settings = effective_settings(rig.pics, load_plan("core"), simulated=False)
    rs = limits.limits("remote_start.response_time", settings, "rigs/sim.toml [pics]")
    assert (rs.high, rs.stat) == (rig.pics["remote_start_response_s"], "max")
    assert "remote_start_response_s" in rs.source and "rigs/sim.toml" in rs.source
    # a family entry covers every action; the plan shortens intervals on the simulated rig only
    assert limits.limits("ocpp.response_time.Reset", settings, "").high == 30
    mv = limits.limits("meter_values.sample_interval", settings, "")
    assert (mv.low, mv.high) == (9.0, 11.0)  # PICS 10 s +- the 1 s default tolerance
    sim = effective_settings(rig.pics, load_plan("core"), simulated=True)
    mv_sim = limits.limits("meter_values.sample_interval", sim, "")
    assert (mv_sim.low, mv_sim.high) == (1.75, 2.25)
    assert limits.limits("boot.time_after_power_on", settings, "") is None  # information only


def test_a_limit_that_cannot_be_evaluated_names_file_entry_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "limits.toml"
    bad.write_text('[x.y]\nunit = "s"\nhigh = "no_such_key + 1"\n')
    with pytest.raises(LimitError, match=r"limits.toml \[x.y\]: 'no_such_key' is not a PICS"):
        LimitMap.load(bad).limits("x.y", {"a": 1}, "")
    assert evaluate("a + b - 0.5", {"a": 1, "b": "2"}, "w") == 2.5
    with pytest.raises(LimitError, match="missing \\+ or -"):
        evaluate("a b", {"a": 1, "b": 2}, "w")


def test_plans_load_and_bad_plans_are_named(tmp_path: Path) -> None:
    smoke = load_plan("smoke")
    assert "TC_003_CS" in smoke.cases and smoke.suites == ["core"]
    assert load_plan("soak").sim_settings["soak_sessions"] >= 1
    bad = tmp_path / "bad.toml"
    bad.write_text('repeat = 0\n')
    with pytest.raises(PlanError, match="repeat = 0: must be an integer >= 1"):
        load_plan(bad)
    with pytest.raises(PlanError, match="plan not found"):
        load_plan("no-such-plan")


PRESTATE_CASES = '''
import pytest


@pytest.mark.octt("TC_950_CS", "sets its keys", config={
    "MeterValueSampleInterval": "{meter_value_sample_interval_s}", "ClockAlignedDataInterval": 0})
async def test_config(case, station):
    res = await station.call("GetConfiguration", {"key": ["MeterValueSampleInterval",
                                                          "ClockAlignedDataInterval"]})
    seen = {e["key"]: e["value"] for e in res.payload["configurationKey"]}
    case.check(seen == {"MeterValueSampleInterval": "7", "ClockAlignedDataInterval": "0"},
               "the pre-state in place", f"has {seen}")


@pytest.mark.octt("TC_951_CS", "needs a key the station lacks", config={"NoSuchKey": "1"})
async def test_unknown_key(case):
    raise AssertionError("must not run")
'''


def test_config_pre_state_is_set_read_back_and_restored(pytester: pytest.Pytester,
                                                        tmp_path: Path) -> None:
    keys = ["MeterValueSampleInterval", "ClockAlignedDataInterval"]
    with plan_env(tmp_path, settings={"meter_value_sample_interval_s": 7}) as env:
        before = env.run(env.ctx.station.call("GetConfiguration", {"key": keys}))
        run_cases(pytester, env, test_prestate=PRESTATE_CASES)
        after = env.run(env.ctx.station.call("GetConfiguration", {"key": keys}))
        v = env.verdicts()
    assert v["TC_950_CS"]["verdict"] == "PASS", v["TC_950_CS"]
    assert any("set and read back" in c for c in v["TC_950_CS"]["checks"])
    assert before.payload["configurationKey"] != [] and \
        after.payload["configurationKey"] == before.payload["configurationKey"]
    assert v["TC_951_CS"]["verdict"] == "FAIL"
    assert v["TC_951_CS"]["message"].startswith(
        "pre-state: expected configuration key(s) NoSuchKey to exist")


def test_case_index_reads_every_marker_or_names_the_file(tmp_path) -> None:
    """--cases can select any case of a plan: a marker the index cannot read is an error
    naming the file, the line and the argument, never a case silently left out."""
    assert "SOAK_CHARGING" in case_index(load_plan("soak"))
    (tmp_path / "test_bad.py").write_text(
        'import pytest\npytestmark = pytest.mark.octt("TC_999_CS", "x", timeout=60 * 2)\n',
        "utf-8")
    with pytest.raises(PlanError, match=r"test_bad.py:2: @pytest.mark.octt timeout = "
                                        r"'60 \* 2' is not a literal"):
        case_index(Plan(name="t", suites=[str(tmp_path)]))


def test_every_setting_is_documented_and_a_plan_sets_only_known_ones(tmp_path: Path) -> None:
    """Windows and thresholds are settings with a documented meaning; a misspelt one in a plan
    is an error naming the file, the table and the name, not a silent no-op."""
    from bench.plugin.plan import DEFAULT_SETTINGS

    doc = (REPO / "docs" / "settings.md").read_text("utf-8")
    undocumented = [name for name in DEFAULT_SETTINGS if f"| `{name}` |" not in doc]
    assert not undocumented, f"docs/settings.md does not explain {undocumented}"
    bad = tmp_path / "typo.toml"
    bad.write_text('name = "typo"\n[sim_settings]\nwatch_seconds = 5\n', "utf-8")
    with pytest.raises(PlanError, match=r"typo.toml: \[sim_settings\] watch_seconds: unknown "
                                        r"setting; settings: .*watch_s"):
        load_plan(bad)
    ok = tmp_path / "ok.toml"
    ok.write_text('name = "ok"\n[settings]\nwatch_s = 5\nheartbeat_interval_s = 60\n', "utf-8")
    plan = load_plan(ok)
    settings = effective_settings(sim_rig().pics, plan, simulated=False)
    assert (settings["watch_s"], settings["heartbeat_interval_s"]) == (5, 60)
    # the PICS triggered-function timeout is how long a case waits, unless the plan says
    assert settings["message_timeout_s"] == sim_rig().pics["triggered_function_timeout_s"]


def test_cases_hold_no_windows_of_their_own() -> None:
    """A hold/observe/watch/offline window or a threshold is a setting, not a module constant
    (issue 14 item 6); counts the OCTT case prescribes (SAMPLES = 4) may stay."""
    import re

    window = re.compile(r"^[A-Z][A-Z0-9_]*_(S|A|W|MS)\s*=\s*[0-9.]+", re.M)
    found = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in (REPO / "testplans").rglob("*.py")
             for m in window.finditer(p.read_text("utf-8"))]
    assert not found, found


def test_id_tags_match_without_regard_to_case() -> None:
    """IdToken is a CiString20: an expect or forbid on idTag matches in any case; other
    fields stay exact."""
    from bench.csms.matching import matches

    assert matches({"idTag": "bb2tbr09", "connectorId": 1}, {"idTag": "BB2TBR09"})
    assert matches({"idTagInfo": {"parentIdTag": "group-a"}},
                   {"idTagInfo": {"parentIdTag": "GROUP-A"}})
    assert not matches({"idTag": "BB2TBR08"}, {"idTag": "BB2TBR09"})
    assert not matches({"status": "accepted"}, {"status": "Accepted"})


def test_applicability_follows_the_rig_security_profile() -> None:
    rig = sim_rig()  # rigs/sim.toml: security profile 0
    assert not_applicable_reason(("security_profile:0",), rig) is None
    assert not_applicable_reason(("security_profile:2,3",), rig) == (
        "requires security profile 2 or 3; the rig says [station] security_profile = 0")

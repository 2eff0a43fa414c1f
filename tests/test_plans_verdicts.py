"""The plugin's verdict mapping, run through pytester against a real CSMS and the simulated
station: PASS, FAIL (station fault), ERROR (bench fault), N/A (with reason), BLOCKED (with
cause); the record is the source of truth and pytest's outcome agrees with it."""

from __future__ import annotations

import pytest
from test_plans_support import plan_env, run_cases

from bench.plugin import BenchPlugin
from bench.record.reader import load_run

pytest_plugins = ["pytester"]

CASES = '''
import pytest
from instruments.errors import InstrumentError


@pytest.mark.octt("TC_900_CS", "passes")
async def test_passes(case, station):
    res = await station.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    case.check(res.error is None, "GetConfiguration answered", "sent a CALLERROR")


@pytest.mark.octt("TC_901_CS", "station never sends it")
async def test_expect_timeout(case, station):
    with case.step("wait for a Heartbeat from connector 7"):
        await station.expect("Heartbeat", match={"connectorId": 7}, within=0.3)


@pytest.mark.octt("TC_902_CS", "a check fails")
async def test_check(case):
    case.check(False, "StopTransaction reason Remote", "sent reason Local (seq 12)")


@pytest.mark.octt("TC_903_CS", "instrument fault")
async def test_instrument(case):
    raise InstrumentError("ev1", "127.0.0.1:1502 device 1", "no response within 1.0 s")


@pytest.mark.octt("TC_904_CS", "a bug in the case")
async def test_bug(case):
    {}["missing"]


@pytest.mark.octt("TC_905_CS", "socket only", requires=("socket",))
async def test_not_applicable(case):
    raise AssertionError("must not run")


@pytest.mark.octt("TC_906_CS", "needs TC_901", depends=("TC_901_CS",))
async def test_blocked(case):
    raise AssertionError("must not run")


@pytest.mark.octt("TC_907_CS", "measurement over its limit")
async def test_measurement(case):
    case.measure("remote_start.response_time", 11.5)
    case.measure("triggered.remote_start", 0.5)
'''


def test_verdict_mapping(pytester: pytest.Pytester, tmp_path) -> None:
    with plan_env(tmp_path) as env:
        result = run_cases(pytester, env, test_cases=CASES)
        v = env.verdicts()
    assert {k: x["verdict"] for k, x in v.items()} == {
        "TC_900_CS": "PASS", "TC_901_CS": "FAIL", "TC_902_CS": "FAIL", "TC_903_CS": "ERROR",
        "TC_904_CS": "ERROR", "TC_905_CS": "N/A", "TC_906_CS": "BLOCKED", "TC_907_CS": "FAIL"}
    # messages say what was expected and what the station did
    assert "step 'wait for a Heartbeat from connector 7'" in v["TC_901_CS"]["message"]
    assert "expected Heartbeat" in v["TC_901_CS"]["message"]
    assert v["TC_902_CS"]["message"] == ("expected StopTransaction reason Remote; the station "
                                         "sent reason Local (seq 12)")
    assert "ev1 at 127.0.0.1:1502 device 1" in v["TC_903_CS"]["message"]
    assert "KeyError" in v["TC_904_CS"]["message"]
    assert v["TC_905_CS"]["message"].startswith("requires a socket")
    assert v["TC_906_CS"]["cause"] == "TC_901_CS"
    assert "remote_start.response_time = 11.500 s" in v["TC_907_CS"]["message"]
    assert "high" not in v["TC_907_CS"]["message"] and "<= 10" in v["TC_907_CS"]["message"]
    assert v["TC_900_CS"]["checks"][0] == "ok: GetConfiguration answered"
    # pytest (pytest-html, JUnit) agrees with the record: FAIL and ERROR both fail there
    result.assert_outcomes(passed=1, failed=5, skipped=2, errors=0)  # FAIL and ERROR


def test_station_that_never_booted_blocks_everything(pytester: pytest.Pytester,
                                                     tmp_path) -> None:
    with plan_env(tmp_path, station=False) as env:
        env.ctx.boot_error = "station SMARTDC-SIM-01 did not boot within 10 s"
        run_cases(pytester, env, test_cases=CASES)
        v = env.verdicts()
    assert v["TC_905_CS"]["verdict"] == "N/A"  # applicability is decided before the boot
    others = {k: x for k, x in v.items() if k != "TC_905_CS"}
    assert {x["verdict"] for x in others.values()} == {"BLOCKED"}
    assert {x["cause"] for x in others.values()} == {"boot"}
    assert "did not boot" in v["TC_900_CS"]["message"]


REPEATED = '''
import pytest


@pytest.mark.octt("TC_960_CS", "repeated")
async def test_repeated(case, station):
    res = await station.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    case.check(res.error is None, "GetConfiguration answered", "sent a CALLERROR")
'''


def test_repeat_records_every_attempt_and_run_wide_response_times(
        pytester: pytest.Pytester, tmp_path) -> None:
    with plan_env(tmp_path) as env:
        pytester.makepyfile(test_repeated=REPEATED)
        plugin = BenchPlugin(env.ctx, repeat=3)
        pytester.runpytest_inprocess("-p", "no:asyncio", "-p", "no:cacheprovider",
                                     plugins=[plugin])
        plugin.finalize()
        run = load_run(env.record.path)
    assert [(v["case"], v["attempt"], v["verdict"]) for v in run.verdicts] == [
        ("TC_960_CS", n, "PASS") for n in (1, 2, 3)]
    rt = next(m for m in run.measurements if m["name"] == "ocpp.response_time.GetConfiguration"
              and m["case"] is None)
    assert rt["stats"]["n"] >= 3 and rt["limits"]["high"] == 30 and rt["outcome"] == "PASS"
    assert "TC_960_CS" in rt["series_index"]
    assert rt["series_attempt"][-3:] == [1, 2, 3]  # each sample names its attempt
    # each attempt judged its own sample as a measurement of the case
    own = [m for m in run.measurements if m["name"] == "ocpp.response_time.GetConfiguration"
           and m["case"] == "TC_960_CS"]
    assert [(m["attempt"], m["stats"]["n"], m["outcome"]) for m in own] == [
        (1, 1, "PASS"), (2, 1, "PASS"), (3, 1, "PASS")]


def test_a_broken_bench_makes_later_cases_error_with_the_cause(pytester: pytest.Pytester,
                                                               tmp_path) -> None:
    class BrokenBench:
        broken = "ev1 at 127.0.0.1:1502 device 1: no response within 1.0 s"

    with plan_env(tmp_path) as env:
        env.ctx.bench = BrokenBench()
        run_cases(pytester, env, test_repeated=REPEATED)
        v = env.verdicts()["TC_960_CS"]
    assert v["verdict"] == "ERROR"
    assert "broken by an earlier instrument fault: ev1 at 127.0.0.1:1502" in v["message"]


RULES = '''
import asyncio
import time

import pytest

from testplans.ocpp import expect


@pytest.mark.octt("TC_910_CS", "a run-wide sample over its limit")
async def test_run_wide(case):
    case.collect("clock.offset", 9.998)  # 4 s limit (rigs/sim.toml max_time_deviation_s)


@pytest.mark.octt("TC_911_CS", "declares what it never measures",
                  measures=("triggered.remote_start",))
async def test_declared(case):
    case.passed("the body ran to its end")


@pytest.mark.octt("TC_912_CS", "a predicate with a bug")
async def test_predicate(case, station):
    await station.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    await station.expect("StatusNotification", match={"connectorId": lambda v: 1 / 0},
                         within=3)


@pytest.mark.octt("TC_913_CS", "the message came before its trigger")
async def test_early(case, station):
    await station.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    await asyncio.sleep(0.5)  # the StatusNotification arrives, unconsumed
    await expect(case, "StatusNotification", {"connectorId": 2, "status": "Unavailable"},
                 after=time.monotonic_ns(), within=0.5, trigger="the bench's check")
'''


def test_what_fails_a_case_and_what_is_a_bench_error(pytester: pytest.Pytester,
                                                     tmp_path) -> None:
    with plan_env(tmp_path) as env:
        result = run_cases(pytester, env, test_rules=RULES)
        v = env.verdicts()
    assert {k: x["verdict"] for k, x in v.items()} == {
        "TC_910_CS": "FAIL", "TC_911_CS": "FAIL", "TC_912_CS": "ERROR", "TC_913_CS": "FAIL"}
    # the case's own samples of a run-wide series are judged in the case
    assert "measurement clock.offset = 9.998 s" in v["TC_910_CS"]["message"]
    assert "triggered.remote_start = nothing measured" in v["TC_911_CS"]["message"]
    # a bug in a predicate is the bench's, with its traceback, not a timeout of the station
    assert "PredicateError" in v["TC_912_CS"]["message"]
    assert "ZeroDivisionError" in v["TC_912_CS"]["traceback"]
    assert "the station sent it" in v["TC_913_CS"]["message"]
    assert "before the bench's check" in v["TC_913_CS"]["message"]
    # pytest agrees: verdicts decided after the body (at the case's end) fail its teardown
    result.assert_outcomes(failed=2, passed=2, errors=2)


HEADLINES = '''
import asyncio

import pytest

from testplans.ocpp import check_answer


@pytest.mark.octt("TC_920_CS", "the answer is wrong, a forbidden message follows")
async def test_answer_first(case, station):
    with case.step("ChangeAvailability(1, Inoperative): Rejected"), \\
            station.forbid("StatusNotification"):
        res = await station.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        await asyncio.sleep(1.0)  # the StatusNotification it causes arrives meanwhile
        check_answer(case, res, "Rejected", "ChangeAvailability")


@pytest.mark.octt("TC_921_CS", "a forbidden message, then a timeout")
async def test_forbidden_first(case, station):
    with case.step("ChangeAvailability(1, Inoperative), then wait for what never comes"), \\
            station.forbid("StatusNotification"):
        await station.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        await station.expect("Heartbeat", match={"connectorId": 9}, within=1.5)
'''


def test_the_headline_is_the_failure_that_came_first(pytester: pytest.Pytester,
                                                     tmp_path) -> None:
    """A forbid window ends after the block's own failure: whichever's evidence came first
    heads the verdict (issue 12 item 6: TC_027 headlined the forbidden Preparing that
    followed the Accepted answer), the other is listed after it."""
    with plan_env(tmp_path) as env:
        run_cases(pytester, env, test_headlines=HEADLINES)
        v = env.verdicts()
    first, second = v["TC_920_CS"], v["TC_921_CS"]
    assert first["verdict"] == second["verdict"] == "FAIL"
    assert "expected ChangeAvailability.conf status Rejected; the station answered " \
           "status='Accepted'" in first["message"], first["message"]
    assert "ForbiddenMessage" not in first["message"]
    assert any(c.startswith("FAIL (later): ForbiddenMessage") and "StatusNotification" in c
               for c in first["checks"]), first["checks"]
    assert second["message"].startswith(
        "step 'ChangeAvailability(1, Inoperative), then wait for what never comes': "
        "ForbiddenMessage"), second["message"]
    assert any(c.startswith("FAIL (later): ExpectTimeout") for c in second["checks"])


def test_a_precondition_the_rig_cannot_verify_is_named_in_the_verdict(
        pytester: pytest.Pytester, tmp_path) -> None:
    """TC_011_2 needs connector 1 left unplugged: on a rig without an EV emulator there the
    bench cannot see it, and its verdict says what it rests on."""
    import dataclasses

    from test_plans_support import REPO, sim_rig

    rig = sim_rig()
    rig = dataclasses.replace(rig, instruments={
        k: i for k, i in rig.instruments.items() if i.driver != "modbus-ev"})
    source = (REPO / "testplans" / "core" / "test_tc_011_2_cs.py").read_text("utf-8")
    with plan_env(tmp_path, settings={"connection_timeout_s": 2}, rig=rig) as env:
        run_cases(pytester, env, test_tc_011_2_cs=source)
        v = env.verdicts()["TC_011_2_CS"]
    assert v["verdict"] == "PASS", v["message"]
    assert v["message"] == ("all checks passed; not verified on this rig: no EV plugged into "
                            "connector 1 (the rig has no EV emulator there, so the bench "
                            "cannot see the plug)")
    assert "not verified: no EV plugged into connector 1" in " ".join(v["checks"])


def test_first_failure_follows_the_window_not_the_exception_being_handled() -> None:
    """A window closed cleanly inside an `except` block has that exception as __context__;
    only what the block itself raised competes for the headline, and a bench fault never
    heads over the station's failure."""
    from bench.csms.errors import ExpectTimeout, ForbiddenMessage
    from bench.plugin.verdicts import StationNonConformance, first_failure

    handled = StationNonConformance("expected X; the station Y", evidence_ns=1)
    clean = ForbiddenMessage("forbidden A", first_hit_ns=50, closed_ns=60)
    clean.__context__ = handled
    assert first_failure(clean) == (clean, [])
    check = StationNonConformance("expected B", evidence_ns=40)
    over_check = ForbiddenMessage("forbidden C", first_hit_ns=50, closed_ns=60,
                                  block_error=check)
    assert first_failure(over_check) == (check, [over_check])
    timeout = ExpectTimeout("expected D within 5 s")  # raised when the window closed (60)
    over_timeout = ForbiddenMessage("forbidden E", first_hit_ns=50, closed_ns=60,
                                    block_error=timeout)
    assert first_failure(over_timeout) == (over_timeout, [timeout])
    bench_fault = RuntimeError("a bug")
    over_bug = ForbiddenMessage("forbidden F", first_hit_ns=50, closed_ns=60,
                                block_error=bench_fault)
    assert first_failure(over_bug) == (over_bug, [])

"""Live progress for long runs: case N of M, the time left from earlier runs of the same rig and
plan (none without them), and a long wait saying what it waits for and for how long."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

from test_plans_support import plan_env

from bench.plugin.eta import earlier_durations
from bench.plugin.progress import QUIET_CASE_S, REMIND_EVERY_S, SHOW_AFTER_S, Progress
from bench.record import RunRecord, Verdict, VerdictRecord
from testplans.ocpp import expect


def earlier_run(runs: Path, rig: str, plan: str, durations: dict[str, float],
                verdict: Verdict = Verdict.PASS) -> None:
    rec = RunRecord.create(runs, plan, rig_path=rig, plan=plan, plan_path=None)
    for case, seconds in durations.items():
        rec.verdict(VerdictRecord(case, verdict, "", attempt=1, duration_s=seconds))
    rec.close()


def lines_of(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_time_left_comes_from_earlier_runs_of_the_same_rig_and_plan(tmp_path) -> None:
    runs, rig = tmp_path / "runs", "/lab/rigs/room1.toml"
    earlier_run(runs, rig, "core", {"TC_001_CS": 120.0, "TC_003_CS": 20.0})
    earlier_run(runs, rig, "core", {"TC_001_CS": 140.0, "TC_003_CS": 30.0, "TC_010_CS": 9.0})
    earlier_run(runs, rig, "core", {"TC_001_CS": 999.0}, verdict=Verdict.ERROR)  # cut short
    earlier_run(runs, "/lab/rigs/room2.toml", "core", {"TC_003_CS": 500.0})  # another rig
    earlier_run(runs, rig, "smoke", {"TC_003_CS": 500.0})  # another plan
    durations = earlier_durations(runs, rig, "core")
    assert durations.typical_s == {"TC_001_CS": 130.0, "TC_003_CS": 25.0, "TC_010_CS": 9.0}
    assert durations.runs == 2

    out = io.StringIO()
    progress = Progress(out)
    progress.set_items(["TC_001_CS", "TC_003_CS", "TC_010_CS", "TC_999_CS"], durations)
    progress("TC_001_CS", "start")
    progress("TC_001_CS", "PASS: all checks passed")
    progress("TC_003_CS", "start")
    first, _, second = lines_of(out)
    assert first.endswith("start (case 1 of 4; about 3 min left + 1 case(s) never timed on "
                          "this rig)"), first
    assert second.endswith("start (case 2 of 4; about 34 s left + 1 case(s) never timed on "
                           "this rig)"), second
    assert progress.summary() == "1 PASS"


def test_no_earlier_run_no_estimate(tmp_path) -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.set_items(["TC_003_CS", "TC_010_CS"], earlier_durations(tmp_path, "r", "core"))
    progress("TC_003_CS", "start")
    assert lines_of(out)[0].endswith("TC_003_CS    +   0.0s start (case 1 of 2)")


def test_a_long_wait_says_what_it_waits_for_and_how_long(tmp_path) -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress("TC_035_CS", "start")
    with progress.waiting("a BootNotification", 4.0):  # ends before anyone wonders
        progress.check_waits(time.monotonic() + 4)
    with progress.waiting("the station to reconnect", 213.0):
        began = time.monotonic()
        progress.check_waits(began + SHOW_AFTER_S - 1)  # not yet: most waits end sooner
        progress.check_waits(began + SHOW_AFTER_S + 0.5)
        progress.check_waits(began + SHOW_AFTER_S + 1)  # shown once
        progress.check_waits(began + SHOW_AFTER_S + REMIND_EVERY_S + 1)
    progress.check_waits(time.monotonic())  # over: nothing more
    waits = lines_of(out)[1:]
    assert len(waits) == 2, waits
    assert "TC_035_CS" in waits[0]
    assert waits[0].endswith("waiting up to 213 s for the station to reconnect; 4 s so far")
    assert waits[1].endswith("still waiting for the station to reconnect: 34 s of 213 s")
    progress.close()


def test_a_case_silent_for_long_names_its_step() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress("TC_001_CS", "start")
    progress("TC_001_CS", "power cycle the station")
    progress.check_waits(time.monotonic() + QUIET_CASE_S + 1)
    assert lines_of(out)[-1].endswith("still in step 'power cycle the station'")
    progress("TC_001_CS", "PASS: all checks passed")
    progress.check_waits(time.monotonic() + 2 * QUIET_CASE_S)  # between cases: quiet is fine
    assert len(lines_of(out)) == 4


def test_expect_reports_its_wait_to_the_progress(tmp_path) -> None:
    """testplans.ocpp.expect, the wait of most steps, registers itself with its deadline."""
    out = io.StringIO()
    progress = Progress(out)
    with plan_env(tmp_path) as env:
        env.ctx.progress = progress
        from bench.plugin import Case

        case = Case(env.ctx, "TC_999_CS", "a wait", {})

        async def wait_and_look() -> None:
            waiting = asyncio.ensure_future(expect(case, "DataTransfer", within=30))
            await asyncio.sleep(0.3)
            progress.check_waits(time.monotonic() + SHOW_AFTER_S)
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)

        env.run(wait_and_look())
    shown = lines_of(out)
    assert len(shown) == 1 and "TC_999_CS" in shown[0], shown
    assert "waiting up to 30 s for DataTransfer (any payload); 3 s so far" in shown[0], shown
    progress.close()

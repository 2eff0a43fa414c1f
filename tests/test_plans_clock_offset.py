"""clock.offset is judged within the resolution of the station's timestamps.

OCPP-J lets a station write whole seconds; such a timestamp is up to 1 s from the clock reading
behind it (truncated or rounded), so the offset the bench sees is judged less that resolution:
a station with a correct clock and whole seconds passes a 0.5 s limit, one 2.6 s ahead still
fails it. The rule is checked on the helper itself (a real Case on a real CSMS), then end to
end with the simulated station writing whole seconds (`bench run`, TC_003_CS)."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_plans_support import FAST_PLAN, REPO, bench_run, plan_env

from bench.csms.messages import Received
from bench.plugin import Case
from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from testplans.ocpp import bench_utc_at, clock_offset_s

LIMIT_S = 0.5  # tighter than the 1 s resolution of whole seconds
SKEW_S = 2.6  # beyond limit + resolution: caught whatever the fraction of the second


def stamp(t: dt.datetime, digits: int) -> str:
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{t.microsecond // 10 ** (6 - digits):0{digits}d}" if digits else "") + "Z"


@pytest.mark.parametrize(("digits", "resolution"), [(0, 1.0), (3, 0.001)])
def test_the_offset_is_collected_less_the_timestamps_resolution(tmp_path, digits, resolution):
    with plan_env(tmp_path, station=False) as env:
        case = Case(env.ctx, "TC_003_CS", "Regular Charging Session", {})
        mono = time.monotonic_ns()
        ahead = bench_utc_at(mono) + dt.timedelta(seconds=1.7)  # a clock 1.7 s ahead
        msg = Received("StartTransaction", {"timestamp": stamp(ahead, digits)}, "1", mono, 9)
        offset = clock_offset_s(case, msg)
        series = env.ctx.run_series["clock.offset"]
    assert offset is not None and 0.69 < offset <= 1.71  # returned as measured
    assert series.values == [pytest.approx(max(0.0, abs(offset) - resolution), abs=1e-9)]
    assert series.index == ["TC_003_CS"] and series.evidence == [9]


def whole_second_plan(folder: Path) -> Path:
    """The fast plan, with a station that declares no milliseconds and a 0.5 s clock limit."""
    plan = folder / "whole-seconds.toml"
    plan.write_text(FAST_PLAN.replace("max_time_deviation_s = 1",
                                      f"max_time_deviation_s = {LIMIT_S}\n"
                                      "sends_milliseconds = false"), "utf-8")
    return plan


def skewed_rig(folder: Path) -> Path:
    """rigs/sim.toml whose station's clock (fault clock_ahead) runs SKEW_S ahead."""
    station = folder / "skewed-station.toml"
    station.write_text(f"[station]\nclock_skew_s = {SKEW_S}\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    rig = folder / "skewed-rig.toml"
    rig.write_text(text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}",
                                1), "utf-8")
    return rig


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_whole_seconds_pass_and_a_clock_beyond_them_fails(tmp_path, pcscd_binary, vpcd_driver):
    runs = {"on-time": tmp_path / "on-time", "ahead": tmp_path / "ahead"}
    for folder in runs.values():
        folder.mkdir()
    plan = str(whole_second_plan(tmp_path))
    args = {"on-time": ["--fault", "timestamps_without_milliseconds"],
            "ahead": ["--rig", str(skewed_rig(tmp_path)), "--fault",
                      "timestamps_without_milliseconds", "--fault", "clock_ahead"]}
    with ThreadPoolExecutor(2) as pool:
        done = {name: pool.submit(bench_run, folder, "--plan", plan, "--cases", "TC_003_CS",
                                  "--no-reports", *args[name], timeout=240)
                for name, folder in runs.items()}
        results = {name: f.result() for name, f in done.items()}

    on_time = load_run(results["on-time"].run_dir)
    stamps = [f["raw"] for f in on_time.frames if f["action"] == "StartTransaction"
              and f["msg_type"] == 2]
    assert stamps and all('Z"' in s and '.' not in s.split('"timestamp":"')[1][:20]
                          for s in stamps), stamps  # the station wrote whole seconds
    verdict = run_verdict(on_time)
    assert results["on-time"].rc == 0 and verdict.verdict == "PASS", verdict.cases
    offsets = [m for m in on_time.measurements if m["name"] == "clock.offset"]
    assert offsets and all(m["outcome"] == "PASS" for m in offsets)

    ahead = run_verdict(load_run(results["ahead"].run_dir))
    tc = ahead.case("TC_003_CS")
    assert results["ahead"].rc == 1 and tc is not None and tc.verdict == "FAIL"
    assert "measurement clock.offset" in tc.message, tc.message

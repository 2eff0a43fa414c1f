"""What a composite schedule costs: the bench's calculator (breakpoints) and the simulated
station's (sampled second by second), for OCTT TC_066's three profiles and a daily
recurring profile, over 400 s (the OCTT duration) and a day.

    .venv/bin/python benchmarks/bench_smart_composite.py [--runs 20]

Prints a markdown table (median and max in ms per composite); the load average is printed
because the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import MachineWindow, Summary, table

from bench.smartcharging import ChargingProfile, composite_schedule
from sim.model import RigModel
from sim.station import StationConfig, StationSimulator


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def profiles(now: dt.datetime) -> dict[str, list[tuple[int, dict]]]:
    def cs(pid, purpose, stack, periods, duration=None, kind="Absolute", **extra):
        schedule = {"chargingRateUnit": "A", "startSchedule": iso(now),
                    "chargingSchedulePeriod": [{"startPeriod": s, "limit": v}
                                               for s, v in periods]}
        if duration:
            schedule["duration"] = duration
        return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
                "chargingProfileKind": kind, "chargingSchedule": schedule, **extra}

    return {
        "TC_066 (3 profiles)": [
            (0, cs(1, "ChargePointMaxProfile", 0, [(0, 10)], 86400)),
            (1, cs(2, "TxDefaultProfile", 0, [(0, 6), (80, 12), (160, 8), (240, 9), (320, 5)],
                   400)),
            (1, cs(3, "TxDefaultProfile", 1, [(0, 7)], 100))],
        "daily recurring (24 periods)": [
            (1, cs(1, "TxDefaultProfile", 0, [(h * 3600, 6 + h % 5) for h in range(24)],
                   kind="Recurring", recurrencyKind="Daily"))],
    }


def time_bench(items: list[tuple[int, dict]], now: dt.datetime, duration: int,
               runs: int) -> Summary:
    parsed = [ChargingProfile.from_ocpp(p, n, installed_at=now) for n, p in items]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        composite_schedule(parsed, 1, now, duration, "A")
        out.append((time.perf_counter() - t) * 1e3)
    return Summary.of(out)


async def time_station(items: list[tuple[int, dict]], duration: int, runs: int) -> Summary:
    cfg = StationConfig.smartdc().with_overrides({"station": {"smart_charging": True}})
    st = StationSimulator(cfg, RigModel(2), None, "ws://127.0.0.1:9/x")
    for n, p in items:
        st.smart.install(n, p, None)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await st.smart.get_composite_schedule({"connectorId": 1, "duration": duration})
        out.append((time.perf_counter() - t) * 1e3)
    return Summary.of(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    now = dt.datetime.now(dt.UTC)
    window = MachineWindow()
    rows = []
    for name, items in profiles(now).items():
        for duration in (400, 86400):
            runs = args.runs if duration <= 400 else max(1, args.runs // 10)
            b = time_bench(items, now, duration, args.runs)
            s = asyncio.run(time_station(items, duration, runs))
            rows.append([name, duration, round(b.p50, 3), round(b.max, 3),
                         round(s.p50, 1), round(s.max, 1)])
    window.stop()
    print(table(["profiles", "duration s", "bench p50 ms", "bench max ms", "station p50 ms",
                 "station max ms"], rows, right=[False, True, True, True, True, True]))
    print()
    print(window.describe())


if __name__ == "__main__":
    main()

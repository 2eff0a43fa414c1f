"""Nights of the core plan as run directories, for the history's tests and benchmarks.

`python -m tests.support.nightgen RUNS_DIR --nights 100` writes one run directory per night
(the core plan's 52 cases and 55 measurements, shaped like a real night of the simulated rig
with lab-like response times; Heartbeats as the plans judge them, by the station's idle time,
`heartbeat.idle_gap`) and prints the folder. Faults to inject: a measurement that drifts
(relative change per night), one that steps at a night, a case that fails on some nights,
nights from which the firmware or a configuration key changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Limits, Measurement
from bench.record import RunRecord, Verdict, VerdictRecord
from reports.catalog import name_of

from .scripted import station_snapshots

NA_CASES = ("TC_005_1_CS", "TC_007_CS", "TC_017_1_CS", "TC_018_1_CS", "TC_024_CS", "TC_030_CS",
            "TC_032_1_CS", "TC_061_CS")
CASES = ("BENCH_TX_RETRY TC_001_CS TC_002_CS TC_003_CS TC_004_1_CS TC_004_2_CS TC_005_1_CS "
         "TC_005_2_CS TC_005_3_CS TC_007_CS TC_010_CS TC_011_1_CS TC_011_2_CS TC_012_CS "
         "TC_013_CS TC_014_CS TC_015_CS TC_016_CS TC_017_1_CS TC_017_2_CS TC_018_1_CS "
         "TC_018_2_CS TC_019_CS TC_021_CS TC_023_1_CS TC_023_2_CS TC_023_3_CS TC_024_CS "
         "TC_026_CS TC_027_CS TC_028_CS TC_030_CS TC_031_CS TC_032_1_CS TC_032_2_CS TC_034_CS "
         "TC_035_CS TC_036_CS TC_037_1_CS TC_037_2_CS TC_037_3_CS TC_038_CS TC_039_CS "
         "TC_040_1_CS TC_040_2_CS TC_041_CS TC_061_CS TC_062_CS TC_068_CS TC_069_CS TC_070_CS "
         "TC_071_CS").split()
# case ("" = run-wide), name, samples per night, typical value (s), low, high, judged stat
MEASUREMENTS: tuple[tuple[str, str, int, float, float | None, float | None, str], ...] = (
    ("BENCH_TX_RETRY", "tx_retry.wait.StartTransaction", 2, 3.0, None, None, "max"),
    ("BENCH_TX_RETRY", "tx_retry.wait_error.StartTransaction", 2, 0.02, None, 0.25, "max"),
    ("BENCH_TX_RETRY", "tx_retry.wait.StopTransaction", 2, 3.0, None, None, "max"),
    ("BENCH_TX_RETRY", "tx_retry.wait_error.StopTransaction", 2, 0.02, None, 0.25, "max"),
    ("TC_001_CS", "boot.time_after_power_on", 1, 38.0, None, None, "max"),
    ("TC_001_CS", "boot.retry_after_rejected", 1, 3.1, 3.0, None, "min"),
    ("TC_001_CS", "heartbeat.idle_gap", 5, 2.9, None, 3.25, "max"),
    ("TC_002_CS", "boot.time_after_power_on", 1, 38.0, None, None, "max"),
    ("TC_002_CS", "boot.retry_after_pending", 1, 3.1, 3.0, None, "min"),
    ("TC_002_CS", "heartbeat.idle_gap", 5, 2.9, None, 3.25, "max"),
    ("TC_004_2_CS", "connection_timeout.after_identification", 1, 6.0, 5.0, 7.0, "max"),
    ("TC_010_CS", "remote_start.response_time", 1, 0.9, None, 10.0, "max"),
    ("TC_010_CS", "triggered.remote_start", 1, 2.4, None, 30.0, "max"),
    ("TC_010_CS", "triggered.remote_start_power_on", 1, 4.1, None, 30.0, "max"),
    ("TC_011_1_CS", "remote_start.response_time", 1, 0.9, None, 10.0, "max"),
    ("TC_011_1_CS", "triggered.plug_to_start", 1, 1.8, None, 30.0, "max"),
    ("TC_011_2_CS", "connection_timeout.remote_start", 1, 6.0, 5.0, 7.0, "max"),
    ("TC_012_CS", "triggered.remote_stop", 1, 1.2, None, 30.0, "max"),
    ("TC_012_CS", "triggered.remote_stop_power_off", 1, 2.0, None, 30.0, "max"),
    ("TC_013_CS", "triggered.change_availability", 2, 1.1, None, 30.0, "max"),
    ("TC_013_CS", "triggered.reset", 1, 41.0, None, None, "max"),
    ("TC_014_CS", "triggered.change_availability", 2, 1.1, None, 30.0, "max"),
    ("TC_014_CS", "triggered.reset", 1, 41.0, None, None, "max"),
    ("TC_015_CS", "triggered.reset", 1, 41.0, None, None, "max"),
    ("TC_016_CS", "triggered.reset", 1, 41.0, None, None, "max"),
    ("TC_032_2_CS", "boot.time_after_power_on", 1, 38.0, None, None, "max"),
    ("TC_034_CS", "triggered.change_availability", 1, 1.1, None, 30.0, "max"),
    ("TC_034_CS", "boot.time_after_power_on", 1, 38.0, None, None, "max"),
    ("TC_035_CS", "heartbeat.idle_gap", 3, 2.9, None, 3.25, "max"),
    ("TC_035_CS", "network.reconnect_after_restore", 1, 3.0, None, None, "max"),
    ("TC_035_CS", "heartbeat.idle_gap.after_reconnect", 3, 2.9, None, 3.25, "max"),
    ("TC_036_CS", "meter_values.sample_timestamp_interval", 6, 2.0, 1.75, 2.25, "median"),
    ("TC_036_CS", "meter_values.sample_timestamp_interval_error", 6, 0.02, None, 0.25, "max"),
    ("TC_037_2_CS", "deauthorized.energy_stop", 1, 1.5, None, 30.0, "max"),
    ("TC_037_3_CS", "deauthorized.stop", 1, 1.5, None, 30.0, "max"),
    ("TC_041_CS", "status_latency.fault", 1, 0.8, None, 30.0, "max"),
    ("TC_070_CS", "meter_values.sample_interval", 3, 2.0, 1.75, 2.25, "median"),
    ("TC_070_CS", "meter_values.sample_interval_error", 3, 0.02, None, 0.25, "max"),
    ("TC_071_CS", "meter_values.clock_alignment_offset", 4, 0.2, None, 1.0, "max"),
    ("TC_071_CS", "meter_values.clock_aligned_interval", 3, 5.0, 4.75, 5.25, "median"),
    ("TC_071_CS", "meter_values.clock_aligned_interval_error", 3, 0.02, None, 0.25, "max"),
    ("", "ocpp.response_time.ChangeAvailability", 6, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.ChangeConfiguration", 58, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.DataTransfer", 1, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.GetConfiguration", 103, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.RemoteStartTransaction", 5, 0.9, None, 30.0, "max"),
    ("", "ocpp.response_time.RemoteStopTransaction", 15, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.Reset", 4, 0.25, None, 30.0, "max"),
    ("", "ocpp.response_time.UnlockConnector", 4, 0.25, None, 30.0, "max"),
    ("", "boot.time_after_power_on", 4, 38.0, None, None, "max"),
    ("", "clock.offset", 8, 0.2, None, 1.0, "max"),
    ("", "status_latency.card_to_authorize", 16, 0.8, None, 30.0, "max"),
    ("", "status_latency.plug_in", 19, 0.8, None, 30.0, "max"),
    ("", "triggered.change_availability", 5, 1.1, None, 30.0, "max"),
    ("", "triggered.reset", 4, 41.0, None, None, "max"),
)
NOISE = 0.04  # relative spread of a sample (a band-limited one: a 40th of its band)


@dataclass
class Injected:
    """What goes wrong over the nights (night numbers are 0-based)."""

    drift: dict[str, float] = field(default_factory=dict)  # name -> relative change per night
    step: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (night, rel.)
    failing: dict[str, set[int]] = field(default_factory=dict)  # case -> nights it fails
    firmware: dict[int, str] = field(default_factory=dict)  # night -> firmware from then on
    config: dict[int, dict[str, str]] = field(default_factory=dict)  # night -> key changes


def _level(name: str, base: float, night: int, inj: Injected) -> float:
    value = base * (1 + inj.drift.get(name, 0.0) * night)
    at, rel = inj.step.get(name, (None, 0.0))
    if at is not None and night >= at:
        value *= 1 + rel
    return value


def write_night(runs_dir: Path, night: int, when: dt.datetime, rng: random.Random,
                inj: Injected, rig: str, host: str, station_id: str) -> Path:
    stamp = when.strftime("%Y-%m-%dT%H-%M-%SZ")
    started = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
    rec = RunRecord(Path(runs_dir) / f"{stamp}-core", {
        "started_utc": started, "plan": "core", "rig": f"rigs/{rig}.toml", "host": host,
        "station_id": station_id, "simulated": False})
    firmware = next((inj.firmware[k] for k in sorted(inj.firmware, reverse=True) if k <= night),
                    "v8.8.15")
    snaps = station_snapshots(firmware=firmware)
    keys = {}
    for k in sorted(inj.config):
        if k <= night:
            keys.update(inj.config[k])
    for item in snaps["station_config_start"]:
        item["value"] = keys.get(item["key"], item["value"])
    for name, data in snaps.items():
        rec.snapshot(name, data)
    for case, name, n, base, low, high, stat in MEASUREMENTS:
        rec.current_case = case or None
        level = _level(name, base, night, inj)
        spread = (high - low) / 40 if low is not None and high is not None else abs(level) * NOISE
        # a conformant night stays inside its limits (4 sigma): only an injected drift or step
        # may carry a measurement across one, or the case it belongs to would fail that night
        margins = [abs(level - x) for x in (low, high) if x is not None]
        if margins and name not in inj.drift and name not in inj.step:
            spread = min(spread, min(margins) / 4)
        series = [round(max(0.0, rng.gauss(level, spread)), 6) for _ in range(n)]
        limits = Limits(low=low, high=high, stat=stat) if low is not None or high is not None \
            else None
        rec.measurement({**Measurement(name, "s", series=series, limits=limits).as_dict(),
                         "case": case or None})
    for case in CASES:
        rec.current_case = case
        if case in NA_CASES:
            v = VerdictRecord(case, Verdict.NA, "does not apply (hardware feature set)")
        elif night in inj.failing.get(case, ()):
            v = VerdictRecord(case, Verdict.FAIL, "expected StatusNotification(Charging); "
                              "the station sent nothing within 10 s")
        else:
            v = VerdictRecord(case, Verdict.PASS, "all checks passed")
        v.name = name_of(case)
        rec.verdict(v)
    rec.current_case = None
    rec.close("complete")
    ended = (when + dt.timedelta(minutes=5)).isoformat(timespec="microseconds")
    rec.update_meta(ended_utc=ended.replace("+00:00", "Z"))
    return rec.path


def write_nights(runs_dir: Path | str, nights: int, *, first: dt.datetime | None = None,
                 inject: Injected | None = None, seed: int = 7, rig: str = "lab-room1",
                 host: str = "rig-host-1", station_id: str = "SMARTDC-LAB-01") -> list[Path]:
    """One run directory per night at 21:00 UTC, the last one yesterday unless `first`."""
    inj = inject or Injected()
    rng = random.Random(seed)
    first = first or (dt.datetime.now(dt.UTC).replace(hour=21, minute=0, second=0,
                                                      microsecond=0)
                      - dt.timedelta(days=nights))
    return [write_night(Path(runs_dir), k, first + dt.timedelta(days=k), rng, inj, rig, host,
                        station_id) for k in range(nights)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.support.nightgen")
    p.add_argument("runs_dir", type=Path)
    p.add_argument("--nights", type=int, default=100)
    p.add_argument("--drift", default="", metavar="NAME=REL",
                   help="e.g. remote_start.response_time=0.007 (0.7 %% per night, ~5 %% a week)")
    args = p.parse_args(argv)
    inj = Injected()
    if args.drift:
        name, rel = args.drift.split("=", 1)
        inj.drift[name] = float(rel)
    write_nights(args.runs_dir, args.nights, inject=inj)
    print(args.runs_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

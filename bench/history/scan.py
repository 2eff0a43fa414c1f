"""Read one run directory into what the history index keeps of it.

Only run.json, verdicts.jsonl, measurements.jsonl and three snapshots are read (never the
frames, which are most of a run's bytes): a year of nights is indexed in seconds. The run
directory stays the truth; its fingerprint (sizes and modification times of those files) tells
the index when to read it again.
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import series_stats
from bench.record.reader import RunData, read_jsonl
from reports.compare import TIME_UNITS
from reports.context import seen_cases
from reports.redact import REDACTED, SECRET_CONFIG_KEYS, redact
from reports.verdicts import CaseResult, judged_cases

READ_FILES = ("run.json", "verdicts.jsonl", "measurements.jsonl", "snapshots/station.json",
              "snapshots/station_config_start.json", "snapshots/non_ocpp_config.json")


@dataclass
class CaseRow:
    case_id: str
    name: str
    profile: str
    verdict: str
    attempts: int
    message: str


@dataclass
class MeasurementRow:
    case_id: str  # "" for a run-wide series
    name: str
    unit: str
    n: int
    median: float
    worst: float  # the sample furthest the bad way (see bad_direction)
    direction: int  # HIGHER_WORSE, LOWER_WORSE, EITHER_WORSE or UNKNOWN (from the limits)
    p95: float
    low: float | None
    high: float | None
    stat: str  # the statistic the limit judges
    outcome: str


@dataclass
class IndexedRun:
    key: str  # the indexing host + ":" + the directory's absolute path
    run_id: str
    host: str  # where the run ran (run.json), else where it was indexed
    indexed_on: str  # the host whose directory this is (removed when it disappears there)
    path: str
    rig: str
    plan: str
    station_id: str
    started_utc: str
    ended_utc: str
    status: str
    verdict: str
    partial: bool
    vendor: str
    model: str
    firmware: str
    config_hash: str
    config: dict[str, str]
    bench_version: str
    git_revision: str
    faults: str
    fingerprint: str
    cases: list[CaseRow] = field(default_factory=list)
    measurements: list[MeasurementRow] = field(default_factory=list)


HIGHER_WORSE, LOWER_WORSE, EITHER_WORSE, UNKNOWN = 1, -1, 2, 0


def bad_direction(limits: dict[str, Any], unit: str) -> int:
    """Which way a move is bad: towards the limit that is set (both ways when both are set, as
    for an interval kept within a band); a time without limits gets worse as it grows."""
    low, high = limits.get("low") is not None, limits.get("high") is not None
    if low and high:
        return EITHER_WORSE
    if high:
        return HIGHER_WORSE
    if low:
        return LOWER_WORSE
    return HIGHER_WORSE if unit in TIME_UNITS else UNKNOWN


def worst_sample(values: list[float], direction: int, limits: dict[str, Any]) -> float:
    if direction == LOWER_WORSE:
        return min(values)
    if direction == EITHER_WORSE:
        centre = (float(limits["low"]) + float(limits["high"])) / 2
        return max(values, key=lambda v: abs(v - centre))
    return max(values)


class RunReadError(ValueError):
    """A directory that is not a readable run: names it and what is wrong."""


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "run.json").is_file()


def fingerprint(run_dir: Path) -> str:
    parts = []
    for name in READ_FILES:
        try:
            st = (run_dir / name).stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{name}:-")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def run_key(host: str, run_dir: Path) -> str:
    return f"{host}:{Path(run_dir).resolve()}"


def night_verdicts(run: RunData) -> tuple[str, list[CaseResult]]:
    """The night's overall verdict and its final verdict per case, as `bench run` judged it
    (bench.record.verdict.run_verdict): the one place the history reads verdicts."""
    judged, cases = judged_cases(run, seen_cases(run.measurements, run.verdicts))
    return judged.verdict, cases


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunReadError(f"{path}: not readable JSON ({exc})") from None


def station_config(snapshot: Any, non_ocpp: Any) -> dict[str, str]:
    """The configuration the night started with (OCPP keys and vendor settings), secrets
    redacted: what `bench history` compares from night to night."""
    out: dict[str, str] = {}
    items = snapshot.get("configurationKey", []) if isinstance(snapshot, dict) else snapshot
    for item in items or []:
        if isinstance(item, dict) and "key" in item:
            key = str(item["key"])
            value = "" if item.get("value") is None else str(item["value"])
            out[key] = REDACTED if key.lower() in SECRET_CONFIG_KEYS else value
    for key, value in (redact(non_ocpp) or {}).items() if isinstance(non_ocpp, dict) else ():
        out[f"non-OCPP {key}"] = str(value)
    return out


def config_digest(config: dict[str, str]) -> str:
    text = json.dumps(sorted(config.items()), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rig_name(meta: dict[str, Any]) -> str:
    """The rig file's name without folder and suffix (rigs/lab-room2.toml: lab-room2)."""
    if meta.get("rig_name"):
        return str(meta["rig_name"])
    rig = str(meta.get("rig") or "")
    return Path(rig).stem if rig else "unknown"


def _samples(m: dict[str, Any]) -> list[float]:
    values = m.get("series") or ([m["value"]] if m.get("value") is not None else [])
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(v)]


def measurement_rows(measurements: list[dict[str, Any]]) -> list[MeasurementRow]:
    """One row per (case, name): a case that measured the same thing twice has its samples
    pooled, as its night has one value of it."""
    pooled: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in measurements:
        pooled.setdefault((str(m.get("case") or ""), str(m.get("name") or "?")), []).append(m)
    rows = []
    for (case_id, name), ms in pooled.items():
        values = [x for m in ms for x in _samples(m)]
        st = series_stats(values)
        if st is None:
            continue
        last = ms[-1]
        limits = last.get("limits") or {}
        unit = str(last.get("unit") or "")
        direction = bad_direction(limits, unit)
        outcomes = {str(m.get("outcome") or "UNSET") for m in ms}
        rows.append(MeasurementRow(
            case_id, name, unit, st.n, st.median, worst_sample(values, direction, limits),
            direction, st.p95,
            _number(limits.get("low")), _number(limits.get("high")),
            str(limits.get("stat") or "max"),
            "FAIL" if "FAIL" in outcomes else "PASS" if "PASS" in outcomes else "UNSET"))
    return rows


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def read_run(run_dir: Path | str, indexed_on: str | None = None) -> IndexedRun:
    run_dir = Path(run_dir)
    meta = _json(run_dir / "run.json")
    if not isinstance(meta, dict):
        raise RunReadError(f"{run_dir}: no run.json")
    stamp = fingerprint(run_dir)  # before reading: a run still writing is read again later
    verdicts, _ = read_jsonl(run_dir / "verdicts.jsonl")
    measurements, _ = read_jsonl(run_dir / "measurements.jsonl")
    snaps = {name: _json(run_dir / "snapshots" / f"{name}.json")
             for name in ("station", "station_config_start", "non_ocpp_config")}
    run = RunData(path=run_dir, meta=meta, frames=[], events=[], measurements=measurements,
                  verdicts=verdicts, snapshots={k: v for k, v in snaps.items() if v is not None})
    verdict, cases = night_verdicts(run)
    station = snaps["station"] if isinstance(snaps["station"], dict) else {}
    config = station_config(snaps["station_config_start"], snaps["non_ocpp_config"])
    indexed_on = indexed_on or socket.gethostname()
    return IndexedRun(
        key=run_key(indexed_on, run_dir), run_id=str(meta.get("id") or run_dir.name),
        host=str(meta.get("host") or indexed_on), indexed_on=indexed_on,
        path=str(run_dir.resolve()), rig=rig_name(meta), plan=str(meta.get("plan") or ""),
        station_id=str(meta.get("station_id") or station.get("id") or ""),
        started_utc=str(meta.get("started_utc") or ""), ended_utc=str(meta.get("ended_utc") or ""),
        status=str(meta.get("status") or "running"), verdict=verdict, partial=run.partial,
        vendor=str(station.get("chargePointVendor") or ""),
        model=str(station.get("chargePointModel") or ""),
        firmware=str(station.get("firmwareVersion") or ""),
        config_hash=config_digest(config) if config else "", config=config,
        bench_version=str(meta.get("bench_version") or ""),
        git_revision=str(meta.get("git_revision") or ""),
        faults=",".join(str(f) for f in meta.get("faults") or []), fingerprint=stamp,
        cases=[CaseRow(c.case, c.name, c.profile, c.verdict, len(c.attempts), c.message)
               for c in cases],
        measurements=measurement_rows(measurements))

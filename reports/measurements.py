"""The Performance Measurement Results table: limits (PICS values), statistics, outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.measure import series_stats

STATS = ("n", "min", "median", "p95", "max")


def fmt_num(x: Any) -> str:
    """Numbers for people: integers as such, others with 4 significant digits."""
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e12:
        return str(int(x))
    return f"{x:.4g}"


def stats_of(m: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded stats, or computed from series/value when a writer left them out."""
    if isinstance(m.get("stats"), dict):
        return m["stats"]
    values = m.get("series") or ([m["value"]] if m.get("value") is not None else [])
    try:
        st = series_stats([float(v) for v in values])
    except (TypeError, ValueError):
        return None
    return None if st is None else {k: getattr(st, k) for k in (*STATS, "mean")}


def limit_text(limits: dict[str, Any] | None) -> str:
    """The PICS value as the certificate prints it: the bound with the statistic it judges."""
    if not limits:
        return "none (for information)"
    low, high, stat = limits.get("low"), limits.get("high"), limits.get("stat") or "max"
    if low is not None and high is not None:
        return f"{fmt_num(low)} ≤ {stat} ≤ {fmt_num(high)}"
    if high is not None:
        return f"{stat} ≤ {fmt_num(high)}"
    if low is not None:
        return f"{stat} ≥ {fmt_num(low)}"
    return "none (for information)"


@dataclass
class PerfRow:
    name: str
    case: str | None
    pics: str
    source: str
    stats: dict[str, str]
    unit: str
    outcome: str
    description: str
    evidence: list[int]
    seq: int


def perf_rows(measurements: list[dict[str, Any]]) -> list[PerfRow]:
    rows = []
    for m in measurements:
        st = stats_of(m) or {}
        limits = m.get("limits") or None
        rows.append(PerfRow(
            name=str(m.get("name", "?")), case=m.get("case"), pics=limit_text(limits),
            source=str((limits or {}).get("source") or ""),
            stats={k: fmt_num(st.get(k)) for k in STATS}, unit=str(m.get("unit") or ""),
            outcome=str(m.get("outcome") or "UNSET"), description=str(m.get("description") or ""),
            evidence=[int(e) for e in (m.get("evidence") or []) if isinstance(e, int)][:20],
            seq=int(m.get("seq") or 0),
        ))
    return rows


# What each measurement measures, for the groups under the headline (first match wins).
# A prefix covers the names that start with it; unknown names land in the last group.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Response times: a CALL of the bench → the station's answer",
     ("ocpp.response_time", "remote_start.response_time", "OCPP response timeout",
      "Response time RemoteStartTransaction")),
    ("Triggered functions: an OCPP message → the message or the energy that shows it ran",
     ("triggered.", "deauthorized.")),
    ("Physical actions → the station's message",
     ("status_latency", "boot.time_after_power_on", "network.")),
    ("Intervals and retries", ("heartbeat.", "meter_values.sample", "MeterValues",
                               "meter_values.clock_aligned_interval", "tx_retry.", "boot.retry")),
    ("Timeouts the station keeps", ("connection_timeout.",)),
    ("Clock", ("clock.", "meter_values.clock_alignment", "Station clock")),
    ("Energy", ("energy.",)),
)
OTHER_GROUP = "Other measurements"


@dataclass
class PerfGroup:
    title: str
    rows: list[PerfRow]


def group_of(name: str) -> str:
    for title, prefixes in GROUPS:
        if any(name == p or name.startswith(p) for p in prefixes):
            return title
    return OTHER_GROUP


def perf_groups(rows: list[PerfRow]) -> list[PerfGroup]:
    """Rows by what they measure, in the order of GROUPS; within a group by name, then in the
    order recorded (so one measurement's cases stay together)."""
    by_title: dict[str, list[PerfRow]] = {}
    for row in rows:
        by_title.setdefault(group_of(row.name), []).append(row)
    order = [t for t, _ in GROUPS] + [OTHER_GROUP]
    return [PerfGroup(t, sorted(by_title[t], key=lambda r: (r.name, r.seq)))
            for t in order if t in by_title]

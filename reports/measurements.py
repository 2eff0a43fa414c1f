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

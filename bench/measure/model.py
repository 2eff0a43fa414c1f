"""A measurement is validated when it is set: value or series, unit, limits, outcome."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    UNSET = "UNSET"  # no limits: recorded for information (as the certificate does)


@dataclass(frozen=True, slots=True)
class SeriesStats:
    n: int
    min: float
    median: float
    p95: float
    max: float
    mean: float

    def get(self, stat: str) -> float:
        return float(getattr(self, stat))


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def series_stats(values: list[float]) -> SeriesStats | None:
    if not values:
        return None
    s = sorted(float(v) for v in values)
    return SeriesStats(
        n=len(s), min=s[0], median=_percentile(s, 0.5), p95=_percentile(s, 0.95),
        max=s[-1], mean=sum(s) / len(s),
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one statistic of the measurement (value itself for a scalar).

    `stat` names what is compared for a series: max, p95, median, min or mean.
    `source` says where the limit comes from (e.g. "rigs/sim.toml [pics] ...").
    """

    low: float | None = None
    high: float | None = None
    stat: str = "max"
    source: str = ""

    def check(self, x: float) -> bool:
        if self.low is not None and x < self.low:
            return False
        return not (self.high is not None and x > self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low} <= {self.stat} <= {self.high}"
        if self.high is not None:
            return f"{self.stat} <= {self.high}"
        if self.low is not None:
            return f"{self.stat} >= {self.low}"
        return "none"


@dataclass(slots=True)
class Measurement:
    name: str
    unit: str
    value: float | None = None
    series: list[float] = field(default_factory=list)
    limits: Limits | None = None
    description: str = ""
    evidence: list[int] = field(default_factory=list)  # frame/event seq numbers
    series_index: list[Any] = field(default_factory=list)  # e.g. UTC of each sample

    @property
    def stats(self) -> SeriesStats | None:
        if self.series:
            return series_stats(self.series)
        if self.value is not None:
            return series_stats([self.value])
        return None

    @property
    def compared(self) -> float | None:
        """The number the limits judge: the scalar value, or the named statistic of the series."""
        if self.series:
            st = self.stats
            return st.get(self.limits.stat if self.limits else "max") if st else None
        return self.value

    @property
    def outcome(self) -> Outcome:
        if self.limits is None:
            return Outcome.UNSET
        x = self.compared
        if x is None:
            return Outcome.FAIL  # limits were set but nothing was measured
        return Outcome.PASS if self.limits.check(x) else Outcome.FAIL

    def as_dict(self) -> dict[str, Any]:
        st = self.stats
        return {
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "series": list(self.series),
            "series_index": list(self.series_index),
            "stats": asdict(st) if st else None,
            "limits": asdict(self.limits) if self.limits else None,
            "outcome": str(self.outcome),
            "description": self.description,
            "evidence": list(self.evidence),
        }

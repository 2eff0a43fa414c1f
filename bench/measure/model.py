"""A measurement is validated when it is set: value or series, unit, limits, outcome."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    UNSET = "UNSET"  # not judged: no limits (for information, as the certificate does), or
    # a comparison that means nothing here (`unset_reason` says why)


def finite(x: float | None) -> bool:
    """A number a limit can judge: NaN and infinities fail every limit."""
    return x is not None and math.isfinite(x)


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
    """Statistics of the finite values (a NaN would scramble the sort); None when none is."""
    s = sorted(float(v) for v in values if finite(float(v)))
    if not s:
        return None
    return SeriesStats(
        n=len(s), min=s[0], median=_percentile(s, 0.5), p95=_percentile(s, 0.95),
        max=s[-1], mean=sum(s) / len(s),
    )


def _short(x: float | None) -> str:
    """A bound as people read it: 1.4244, not 1.4243999999999999; 10.0 stays 10.0."""
    if x is None:
        return ""
    text = f"{x:.6g}"
    return text if any(c in text for c in ".e") or not float(x).is_integer() else f"{x:.1f}"


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
        if not finite(x):
            return False  # NaN compares False both ways: it would pass silently
        if self.low is not None and x < self.low:
            return False
        return not (self.high is not None and x > self.high)

    def describe(self) -> str:
        low, high = _short(self.low), _short(self.high)
        if self.low is not None and self.high is not None:
            return f"{low} <= {self.stat} <= {high}"
        if self.high is not None:
            return f"{self.stat} <= {high}"
        if self.low is not None:
            return f"{self.stat} >= {low}"
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
    series_index: list[Any] = field(default_factory=list)  # e.g. UTC or case of each sample
    series_attempt: list[int | None] = field(default_factory=list)  # attempt of each sample
    unset_reason: str = ""  # set: not judged (outcome UNSET) although it may have limits
    required: bool = False  # declared by its case: nothing measured is a FAIL, limits or not

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
    def values(self) -> list[float]:
        if self.series:
            return [float(v) for v in self.series]
        return [] if self.value is None else [float(self.value)]

    @property
    def non_finite(self) -> int:
        """How many values are NaN or infinite (a broken reading, a division by zero)."""
        return sum(not finite(v) for v in self.values)

    @property
    def outcome(self) -> Outcome:
        if self.unset_reason:
            return Outcome.UNSET
        if not self.values:
            # declared, or limits set, but nothing was measured
            return Outcome.FAIL if self.limits is not None or self.required else Outcome.UNSET
        if self.limits is None:
            return Outcome.UNSET
        if self.non_finite:
            return Outcome.FAIL  # a NaN or infinity fails every limit, whatever the statistic
        x = self.compared
        return Outcome.PASS if x is not None and self.limits.check(x) else Outcome.FAIL

    def describe(self, samples_of: str = "") -> str:
        """`name = 9.998 s (max of 3 samples; limit max <= 4.0)`, as verdicts quote it.
        samples_of: whose samples they are ("of this case"), when it is not the whole series."""
        if self.unset_reason:
            return f"{self.name}: not judged: {self.unset_reason}"
        bad = self.non_finite
        compared = self.compared
        if bad:
            shown = f"{bad} non-finite value(s) (NaN or infinite)"
        elif compared is None:
            shown = "nothing measured"
        else:
            shown = f"{compared:.3f} {self.unit}"
        whose = f" {samples_of}" if samples_of else ""
        n = len(self.series)
        what = (f"{self.limits.stat} of {n} sample{'s' if n != 1 else ''}{whose}"
                if self.series and self.limits else "value")
        lim = self.limits.describe() if self.limits else "no limit"
        return f"{self.name} = {shown} ({what}; limit {lim})"

    def as_dict(self) -> dict[str, Any]:
        st = self.stats
        return {
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "series": list(self.series),
            "series_index": list(self.series_index),
            **({"series_attempt": list(self.series_attempt)} if self.series_attempt else {}),
            "stats": asdict(st) if st else None,
            "limits": asdict(self.limits) if self.limits else None,
            "outcome": str(self.outcome),
            "description": self.description,
            "evidence": list(self.evidence),
            **({"unset_reason": self.unset_reason} if self.unset_reason else {}),
            **({"required": True} if self.required else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        """A measurement line of the record back as a Measurement (to judge it again)."""
        lim = d.get("limits")
        limits = None if not isinstance(lim, dict) else Limits(
            low=lim.get("low"), high=lim.get("high"), stat=str(lim.get("stat") or "max"),
            source=str(lim.get("source") or ""))
        return cls(name=str(d.get("name", "?")), unit=str(d.get("unit") or ""),
                   value=d.get("value"), series=list(d.get("series") or []), limits=limits,
                   description=str(d.get("description") or ""),
                   evidence=list(d.get("evidence") or []),
                   series_index=list(d.get("series_index") or []),
                   series_attempt=list(d.get("series_attempt") or []),
                   unset_reason=str(d.get("unset_reason") or ""),
                   required=bool(d.get("required")))

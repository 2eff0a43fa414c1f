"""The station's composite schedule against the bench's, as step functions.

Two schedules are compared at every instant, not period by period: a station may split a
stretch into more periods of the same limit (allowed; the text does not ask for the fewest).
Breakpoints may sit `tolerance_s` apart (startPeriod is whole seconds; the station rounds its
request time). Where the bench expects no limit (no profile covers the stretch) any value
the station reports is accepted, and the comparison says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.smartcharging.composite import Composite

LIMIT_RESOLUTION = 0.1  # a decimal(1) limit (§7.14): values closer than this are equal


@dataclass
class Comparison:
    mismatches: list[str] = field(default_factory=list)
    unlimited: list[str] = field(default_factory=list)  # stretches the bench does not judge

    @property
    def ok(self) -> bool:
        return not self.mismatches


def answered_steps(schedule: dict[str, Any]) -> list[tuple[float, float]]:
    """(startPeriod, limit) of a chargingSchedule, by start."""
    return sorted((float(p["startPeriod"]), float(p["limit"]))
                  for p in schedule.get("chargingSchedulePeriod", []))


def _value(steps: list[tuple[float, float]], t: float) -> float | None:
    current = None
    for start, limit in steps:
        if start <= t:
            current = limit
    return current


def compare_composite(expected: Composite, schedule: dict[str, Any],
                      tolerance_s: float) -> Comparison:
    """Differences between the station's chargingSchedule and the expected composite."""
    out = Comparison()
    unit = schedule.get("chargingRateUnit")
    if unit != expected.unit:
        out.mismatches.append(f"chargingRateUnit {unit!r}, expected {expected.unit!r}")
        return out
    got = answered_steps(schedule)
    if not got or got[0][0] > tolerance_s:
        out.mismatches.append(f"the first period starts at {got[0][0] if got else None!r} s, "
                              "expected 0")
        return out
    probes = sorted({s.start_s for s in expected.steps} | {s for s, _ in got} | {0.0})
    probes = sorted({t + d for t in probes for d in (0.0, tolerance_s + 0.5)
                     if 0 <= t + d < expected.duration_s})
    breaks = [s.start_s for s in expected.steps]
    for t in probes:
        seen = _value(got, t)
        near = [b for b in breaks if abs(b - t) <= tolerance_s]
        allowed = {expected.limit_at(t)} | {expected.limit_at(b) for b in near} \
            | {expected.limit_at(max(0.0, b - 0.001)) for b in near}
        if None in allowed:
            out.unlimited.append(f"{t:g} s")
            continue
        if seen is None or not any(abs(seen - a) < LIMIT_RESOLUTION for a in allowed):
            want = " or ".join(f"{a:g}" for a in sorted(allowed))  # type: ignore[type-var]
            out.mismatches.append(f"at {t:g} s limit {seen if seen is None else f'{seen:g}'} "
                                  f"{unit}, expected {want}")
    return out


def describe_expected(expected: Composite) -> str:
    """`0 s: 6 A, 100 s: 8 A, ...` for check texts."""
    return ", ".join(f"{s.start_s:.0f} s: " + ("no limit" if s.limit is None else
                                             f"{s.limit:g} {expected.unit}")
                     for s in expected.steps)

"""One time axis for a run: seconds since the run started, from monotonic stamps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def parse_utc(text: Any) -> dt.datetime | None:
    """An ISO-8601 time (station or bench), None when unreadable; naive times are taken as UTC."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@dataclass
class Timebase:
    start_mono_ns: int
    start_utc: dt.datetime | None

    @classmethod
    def of_run(cls, meta: dict[str, Any], lines: list[list[dict[str, Any]]]) -> Timebase:
        firsts = [rows[0]["mono_ns"] for rows in lines if rows and "mono_ns" in rows[0]]
        start = meta.get("started_mono_ns")
        if not isinstance(start, int):
            start = min(firsts) if firsts else 0
        return cls(start, parse_utc(meta.get("started_utc")))

    def s_of_mono(self, mono_ns: int) -> float:
        return (mono_ns - self.start_mono_ns) / 1e9

    def s_of_utc(self, text: Any) -> float | None:
        t = parse_utc(text)
        if t is None or self.start_utc is None:
            return None
        return (t - self.start_utc).total_seconds()


def axis_unit(span_s: float) -> tuple[str, float]:
    """A readable unit for a time axis spanning span_s seconds: (label, divisor)."""
    if span_s > 3 * 3600:
        return "h", 3600.0
    if span_s > 300:
        return "min", 60.0
    return "s", 1.0


def fmt_offset(seconds: float) -> str:
    """+12.345 s, or +1:02:03.4 past a minute (sequence charts)."""
    sign = "-" if seconds < 0 else "+"
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.3f} s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{int(h)}:{int(m):02d}:{sec:04.1f}"

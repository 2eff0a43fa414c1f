"""Record types written to the run directory (one JSON object per line)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

# `scope` of a measurement line that holds one case's share of a run-wide series (judged in
# that case; the run-wide series itself is recorded once, with case None)
CASE_SAMPLES = "case-samples"


class Direction(enum.StrEnum):
    IN = "in"  # station -> bench
    OUT = "out"  # bench -> station


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"  # the station did not conform
    ERROR = "ERROR"  # a bench, instrument or harness fault
    NA = "N/A"  # does not apply to this station (reason given)
    BLOCKED = "BLOCKED"  # a prerequisite case failed


@dataclass(slots=True)
class FrameRecord:
    """One websocket frame exactly as it crossed the socket.

    `raw` is the text of a text frame or the bytes of a binary frame; the writer stores it so
    that any input round-trips (bench.record.writer.encode_raw, reader.frame_raw)."""

    mono_ns: int
    station: str
    direction: Direction
    raw: str | bytes
    msg_type: int | None = None  # 2 CALL, 3 CALLRESULT, 4 CALLERROR, None if unreadable
    msg_id: str | None = None
    action: str | None = None
    schema: str = "n/a"  # "ok", "n/a" or "invalid: <reason>"
    note: str | None = None


@dataclass(slots=True)
class VerdictRecord:
    case: str
    verdict: Verdict
    message: str = ""
    name: str = ""
    attempt: int = 1
    duration_s: float | None = None
    checks: list[str] = field(default_factory=list)
    cause: str | None = None  # e.g. the case id that blocked this one
    traceback: str | None = None  # an ERROR's traceback (a bench fault, to debug the bench)
    # --repeat N: this line is repetition `repetition` of `repetitions`; every repetition is
    # judged (bench.record.verdict: the case stands as its worst repetition)
    repetition: int | None = None
    repetitions: int | None = None

    def as_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"traceback": self.traceback} if self.traceback else {}
        if self.repetition is not None:
            extra.update(repetition=self.repetition, repetitions=self.repetitions)
        return {
            "case": self.case,
            "name": self.name,
            "verdict": str(self.verdict),
            "message": self.message,
            "attempt": self.attempt,
            "duration_s": self.duration_s,
            "checks": list(self.checks),
            "cause": self.cause,
            **extra,
        }

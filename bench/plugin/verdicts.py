"""Which verdict an exception means: the station's fault (FAIL) or the bench's (ERROR).

FAIL: the station did not do what the case expected: an awaited message did not come
(ExpectTimeout), a CALL of the bench got no answer (CallTimeout), a forbidden message came,
the station dropped its connection, a check or an assert on the station's data failed, a
measurement missed its limit.
ERROR: everything else is a bench fault: instrument I/O errors, bad plans or limits, a bug
in a case, the case's overall deadline.
"""

from __future__ import annotations

from bench.record import Verdict


class StationNonConformance(AssertionError):
    """A check on the station's behaviour failed; the message says expected vs. seen."""


class BenchFault(Exception):
    """The bench could not do its part (raise it from helpers for a clear ERROR)."""


class Blocked(Exception):
    """A prerequisite failed; `cause` names it (a case id, or `boot`)."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class NotApplicable(Exception):
    """The case does not apply to this station (reason given)."""


# by class name along the MRO, so the classification does not need to import the CSMS
_STATION_FAULTS = {"ExpectTimeout", "CallTimeout", "ForbiddenMessage", "StationGone",
                   "StationNonConformance", "AssertionError"}
_BENCH_FAULTS = {"InstrumentError", "BenchFault", "LoopDeadline", "InvalidOutgoingPayload",
                 "LimitError", "PlanError", "RigError", "PredicateError"}


def classify(exc: BaseException) -> Verdict:
    names = [c.__name__ for c in type(exc).__mro__]
    for name in names:  # most specific first: an InstrumentError subclass of TimeoutError is ERROR
        if name in _BENCH_FAULTS:
            return Verdict.ERROR
        if name in _STATION_FAULTS:
            return Verdict.FAIL
    return Verdict.ERROR


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    kind = type(exc).__name__
    if kind in ("AssertionError", "StationNonConformance"):
        return text
    return f"{kind}: {text}"

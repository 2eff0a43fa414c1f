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
    """A check on the station's behaviour failed; the message says expected vs. seen.
    `evidence_ns`: when what the check judged arrived (e.g. the answer), if the check said."""

    def __init__(self, message: str, evidence_ns: int | None = None) -> None:
        super().__init__(message)
        self.evidence_ns = evidence_ns


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


def first_failure(exc: BaseException) -> tuple[BaseException, list[BaseException]]:
    """The failure a verdict heads with, and the later ones it hides.

    A forbid window raises ForbiddenMessage when its block ends, also over what the block
    itself raised (its `block_error`). The headline is the station failure whose evidence came
    first: the forbidden CALL's arrival, or the evidence of the block's failed check (else the
    moment the block failed, which is when the window closed). "Answered Accepted, then sent a
    forbidden Preparing" heads with the answer, "a forbidden StartTransaction, then no
    Available within the timeout" with the StartTransaction."""
    chain: list[BaseException] = [exc]
    while type(chain[-1]).__name__ == "ForbiddenMessage" and len(chain) < 16:
        inner = getattr(chain[-1], "block_error", None)
        if inner is None:
            break
        chain.append(inner)
    if len(chain) == 1:
        return exc, []
    closed = [getattr(e, "closed_ns", None) for e in chain]
    block_closed = next((c for c in reversed(closed) if c is not None), None)

    def when(e: BaseException) -> int:
        stamp = getattr(e, "first_hit_ns", None) or getattr(e, "evidence_ns", None)
        return stamp or block_closed or 0

    station = [e for e in chain if classify(e) == Verdict.FAIL]
    if not station:
        return exc, []
    head = min(station, key=when)  # ties: the outer window, as before
    return head, [e for e in station if e is not head]


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    kind = type(exc).__name__
    if kind in ("AssertionError", "StationNonConformance"):
        return text
    return f"{kind}: {text}"

"""Value types of the session API: results of the bench's CALLs, received messages, replies.

The same for every OCPP version (bench/csms/protocol.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# OCPP-J MessageTypeIds (the RPC framework; the error codes are the version's catalogue)
CALL, CALLRESULT, CALLERROR = 2, 3, 4


@dataclass(frozen=True, slots=True)
class CallErrorInfo:
    """A CALLERROR as the station sent it."""

    code: str
    description: str
    details: Any = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallResult:
    """The answer to a CALL of the bench, with its response time from the socket stamps."""

    action: str
    msg_id: str
    payload: dict[str, Any] | None
    error: CallErrorInfo | None
    sent_mono_ns: int
    answered_mono_ns: int
    frame_seqs: tuple[int, int]  # (seq of our CALL, seq of the answer)
    schema: str = "ok"  # verdict of the answer against its schema

    @property
    def response_time_s(self) -> float:
        return (self.answered_mono_ns - self.sent_mono_ns) / 1e9

    @property
    def ok(self) -> bool:
        return self.error is None

    def get(self, key: str, default: Any = None) -> Any:
        """A field of the CALLRESULT payload (default when absent or on CALLERROR)."""
        return (self.payload or {}).get(key, default)


@dataclass(frozen=True, slots=True)
class Received:
    """A CALL the station sent, as it arrived."""

    action: str
    payload: dict[str, Any]
    msg_id: Any
    mono_ns: int
    seq: int
    schema: str = "ok"  # "ok" or "invalid: ..." (an invalid CALL was answered with a CALLERROR)
    station: str = ""


# -- what a responder may return besides a plain payload dict ---------------------------------

@dataclass(frozen=True, slots=True)
class CallErrorReply:
    """Answer the station's CALL with a CALLERROR."""

    code: str = "InternalError"
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NoReply:
    """Leave the station's CALL unanswered (the station must time out)."""


@dataclass(frozen=True, slots=True)
class Delayed:
    """Answer after `seconds` with `reply` (a payload dict or a CallErrorReply)."""

    seconds: float
    reply: Any

"""Errors raised by the station session API; each message says what, how long and what was seen."""

from __future__ import annotations


class CsmsError(Exception):
    """Base of the endpoint's errors."""


class ExpectTimeout(CsmsError, TimeoutError):
    """An awaited station message did not arrive in time."""


class CallTimeout(CsmsError, TimeoutError):
    """A CALL of the bench got no answer within its response timeout."""

    def __init__(self, message: str, action: str, msg_id: str, timeout_s: float) -> None:
        super().__init__(message)
        self.action = action
        self.msg_id = msg_id
        self.timeout_s = timeout_s


class ForbiddenMessage(CsmsError, AssertionError):
    """The station sent a CALL that the test case forbade during a window. `first_hit_ns`:
    when the first such CALL arrived; `closed_ns`: when the window ended; `block_error`: what
    the block itself raised, if it failed (then at about `closed_ns`): the verdict heads with
    whichever came first."""

    def __init__(self, message: str, first_hit_ns: int | None = None,
                 closed_ns: int | None = None, block_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.first_hit_ns = first_hit_ns
        self.closed_ns = closed_ns
        self.block_error = block_error


class StationGone(CsmsError, ConnectionError):
    """The station is not connected, or disconnected while a CALL awaited its answer."""


class InvalidOutgoingPayload(CsmsError, ValueError):
    """The bench was about to send a payload that breaks the OCPP 1.6 schema (a bench bug)."""

"""What the endpoint needs from an OCPP version: its framing, its schemas, its catalogue.

The receive loop, the session API and the handshake speak to an `OcppVersion` only; each
version is a package of its own (bench/csms/ocpp16/ for OCPP 1.6-J), chosen by the websocket
subprotocol the station asked for (bench/csms/versions.py). The value types here are the same
for every version: what a parser returns and why a payload breaks its schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.csms.messages import CallErrorInfo


@dataclass(slots=True)
class Problem:
    """Why a frame cannot be processed: a finding name and the CALLERROR that answers it."""

    finding: str
    code: str
    description: str


@dataclass(slots=True)
class ParsedFrame:
    msg_type: int | None = None
    msg_id: Any = None  # as sent: a str normally, an int from an untidy station
    action: str | None = None
    payload: Any = None
    error: CallErrorInfo | None = None
    problem: Problem | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)  # (name, message)

    @property
    def id_readable(self) -> bool:
        return isinstance(self.msg_id, (str, int)) and not isinstance(self.msg_id, bool)


@dataclass(frozen=True, slots=True)
class Violation:
    """Why a payload breaks its schema, with the CALLERROR code that answers it."""

    code: str
    message: str
    rule: str | None = None

    @property
    def verdict(self) -> str:
        return f"invalid: {self.code}: {self.message}"


class OcppVersion(Protocol):
    """One OCPP version as the endpoint uses it."""

    name: str  # "OCPP 1.6"
    subprotocol: str  # the websocket subprotocol that selects it ("ocpp1.6")

    def parse(self, raw: str) -> ParsedFrame:
        """Structure of one received text frame; never raises (a broken frame has `problem`)."""
        ...

    def is_action(self, action: str) -> bool:
        """`action` exists in this version (it has a request schema)."""
        ...

    def initiated_by_station(self, action: str) -> bool:
        """The station (charge point) sends this CALL, the central system answers it."""
        ...

    def check_request(self, action: str, payload: Any) -> Violation | None: ...

    def check_response(self, action: str, payload: Any) -> Violation | None: ...

    def call_frame(self, msg_id: str, action: str, payload: Any) -> str: ...

    def result_frame(self, msg_id: Any, payload: Any) -> str: ...

    def error_frame(self, msg_id: Any, code: str, description: str,
                    details: Any = None) -> str: ...

    def recover_call_id(self, text: str) -> str | None:
        """The message id of a CALL whose frame cannot be parsed, if it can be read."""
        ...

    def recover_id_from_bytes(self, data: bytes) -> str | None: ...

    def warm_up(self) -> None:
        """Prepare everything now (schema compilation), so no first frame pays for it."""
        ...

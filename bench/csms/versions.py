"""The OCPP versions the endpoint serves, by the websocket subprotocol that selects each."""

from __future__ import annotations

from bench.csms.ocpp16 import OCPP16
from bench.csms.protocol import OcppVersion

SUPPORTED: tuple[OcppVersion, ...] = (OCPP16,)  # in the server's order of preference
BY_SUBPROTOCOL: dict[str, OcppVersion] = {v.subprotocol: v for v in SUPPORTED}
SUBPROTOCOLS: tuple[str, ...] = tuple(BY_SUBPROTOCOL)


def for_subprotocol(subprotocol: str | None) -> OcppVersion:
    """The version a negotiated subprotocol selects (the handshake admits only these)."""
    try:
        return BY_SUBPROTOCOL[subprotocol or ""]
    except KeyError:
        raise ValueError(f"no OCPP version for subprotocol {subprotocol!r}; served: "
                         f"{', '.join(SUBPROTOCOLS)}") from None

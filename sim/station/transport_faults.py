"""The transport faults of the simulated station: what one connection attempt offers.

The conformant attempt offers `ocpp1.6`, the Authorization header of its security profile and
the TLS context that verifies the CSMS. The faults (sim/station/faults.py) change one of these;
those named `..._on_reconnect` only on the first attempt after a lost connection, so that the
station gets in again on the next attempt and the cases after the one that caught it still run.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.station.station import StationSimulator

SUBPROTOCOL = "ocpp1.6"


@dataclass(frozen=True, slots=True)
class Attempt:
    subprotocols: list[str] | None  # None: no Sec-WebSocket-Protocol header at all
    headers: dict[str, str] | None
    tls: ssl.SSLContext | None


def attempt(st: StationSimulator, after_loss: bool) -> Attempt:
    """What the next connection attempt offers (`after_loss`: the first since a connection
    ended)."""
    tls = st._ssl
    if tls is not None and st.fault("accepts_any_server_certificate"):
        tls.check_hostname = False  # the fault: any certificate, any name
        tls.verify_mode = ssl.CERT_NONE
    headers = st._auth_headers
    subprotocols: list[str] | None = [SUBPROTOCOL]
    if after_loss:
        if st.fault("no_subprotocol_on_reconnect"):
            subprotocols = None
        if headers and st.fault("basic_user_not_identity_on_reconnect"):
            headers = {"Authorization": _other_user(headers["Authorization"], st.cfg.serial_number)}
        if tls is not None and st.fault("no_client_certificate_on_reconnect"):
            tls = _without_client_certificate()
    return Attempt(subprotocols, headers, tls)


def _other_user(value: str, user: str) -> str:
    """The same Basic password under another user name."""
    _, _, password = base64.b64decode(value.partition(" ")[2]).partition(b":")
    return "Basic " + base64.b64encode(user.encode() + b":" + password).decode("ascii")


def _without_client_certificate() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # only the missing certificate is the fault under test
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx

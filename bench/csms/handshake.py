"""Who may open a websocket: path, subprotocol, identity and the security profile's check.

Decides from the HTTP upgrade request alone, so a refusal is an HTTP status (400, 401, 403,
404, 503) and the server goes on serving others. Passwords are compared, never kept.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from bench.csms.settings import CsmsSettings

SUBPROTOCOL = "ocpp1.6"


@dataclass(slots=True)
class Decision:
    identity: str | None
    status: int | None  # None: accept; else the HTTP status of the refusal
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)  # recorded; never holds a secret

    @property
    def accepted(self) -> bool:
        return self.status is None


def identity_from_path(path: str, prefix: str) -> str | None:
    """The charge point identity of `/<prefix>/<id>` (prefix may be empty), else None."""
    p = urlsplit(path).path
    head = f"/{prefix}/" if prefix else "/"
    if not p.startswith(head):
        return None
    rest = p[len(head):]
    if not rest or "/" in rest.rstrip("/"):
        return None
    identity = unquote(rest.rstrip("/"))
    return identity or None


def offered_subprotocols(headers: Any) -> list[str]:
    offered: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        offered += [p.strip() for p in value.split(",") if p.strip()]
    return offered


def _basic_credentials(headers: Any) -> tuple[str, bytes] | str:
    """(user, password bytes) of a Basic Authorization header, or the reason it is unusable."""
    values = headers.get_all("Authorization")
    if not values:
        return "no Authorization header (HTTP Basic required by the security profile)"
    scheme, _, token = values[0].partition(" ")
    if scheme.lower() != "basic":
        return f"Authorization scheme {scheme!r} is not Basic"
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "Authorization header is not valid base64"
    user, sep, password = raw.partition(b":")
    if not sep:
        return "Basic credentials have no ':' separator"
    return user.decode("utf-8", "replace"), password


def _password_form(password: bytes, key: bytes) -> str | None:
    """'raw' when the password is the key's bytes, 'hex-text' when it is the key in hex text."""
    if hmac.compare_digest(password, key):
        return "raw"
    if hmac.compare_digest(password.lower(), key.hex().encode()):
        return "hex-text"
    return None


def decide(
    settings: CsmsSettings,
    path: str,
    headers: Any,
    peer_cert: dict[str, Any] | None = None,
    refused_for_s: float | None = None,
) -> Decision:
    """The verdict on one upgrade request. `refused_for_s`: the identity is cut for that long."""
    offered = offered_subprotocols(headers)
    detail: dict[str, Any] = {"path": path, "subprotocols": offered,
                              "security_profile": settings.security_profile}
    identity = identity_from_path(path, settings.path_prefix)
    if identity is None:
        want = (f"/{settings.path_prefix}/<chargePointId>" if settings.path_prefix
                else "/<chargePointId>")
        return Decision(None, 404, f"path {path!r} is not {want}", detail)
    if SUBPROTOCOL not in offered:
        return Decision(identity, 400, f"subprotocol {SUBPROTOCOL} required, offered {offered}",
                        detail)
    known = identity in settings.stations
    if not known and not settings.any_station:
        return Decision(identity, 404, f"unknown charge point identity {identity!r}", detail)
    if refused_for_s is not None:
        return Decision(identity, 503,
                        f"reconnects refused for another {refused_for_s:.1f} s (network cut)",
                        detail)
    profile = settings.security_profile
    has_auth_header = bool(headers.get_all("Authorization"))
    if profile == 0:
        if has_auth_header:
            detail["authorization_header_ignored"] = True
        return Decision(identity, None, "accepted (profile 0, no authentication)", detail)
    if profile == 3:
        cn = _common_name(peer_cert)
        detail["client_cert_cn"] = cn
        if cn is None:
            return Decision(identity, 403, "no client certificate (profile 3 requires one)", detail)
        if cn != identity:
            return Decision(identity, 403,
                            f"client certificate CN {cn!r} differs from identity {identity!r}",
                            detail)
        return Decision(identity, None, "accepted (profile 3, client certificate)", detail)
    creds = _basic_credentials(headers)
    if isinstance(creds, str):
        return Decision(identity, 401, creds, detail)
    user, password = creds
    detail["username"] = user
    if user != identity:
        return Decision(identity, 403,
                        f"Basic user name {user!r} differs from the identity {identity!r} "
                        "in the path",
                        detail)
    key = settings.stations.get(identity)
    if key is None:
        detail["password_checked"] = False
        return Decision(identity, None, f"accepted (profile {profile}, no key configured)", detail)
    form = _password_form(password, key)
    detail["password_checked"] = True
    if form is None:
        return Decision(identity, 401, "wrong password (AuthorizationKey)", detail)
    detail["password_form"] = form
    return Decision(identity, None, f"accepted (profile {profile}, Basic)", detail)


def _common_name(peer_cert: dict[str, Any] | None) -> str | None:
    if not peer_cert:
        return None
    for rdn in peer_cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None

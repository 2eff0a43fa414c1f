"""Who may open a websocket: path, subprotocol, identity and the security profile's check.

Decides from the HTTP upgrade request alone, so a refusal is an HTTP status (400, 401, 403,
404, 503) and the server goes on serving others. At profiles 1 and 2 every identity, known or
admitted by `any_station`, must present its key (CsmsSettings.key_for); at profile 3 the client
certificate's CN must be the identity. Passwords are compared, never kept; a user name is
shown only when it holds no key (KeyScrubber).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Any

from bench.csms.identity import check_path, identity_from_path
from bench.csms.secrets import KeyScrubber
from bench.csms.settings import CsmsSettings
from bench.csms.versions import SUBPROTOCOLS
from bench.textsafe import visible

__all__ = ["BasicSeen", "Decision", "basic_seen", "common_name", "decide",
           "identity_from_path", "offered_subprotocols"]


@dataclass(slots=True)
class Decision:
    identity: str | None
    status: int | None  # None: accept; else the HTTP status of the refusal
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)  # recorded; never holds a secret

    @property
    def accepted(self) -> bool:
        return self.status is None


@dataclass(frozen=True, slots=True)
class BasicSeen:
    """An Authorization header as far as it can be shown: never the password, its length
    and whether it reads as hex text only."""

    scheme: str
    user_is_identity: bool
    user: str  # scrubbed, visible(); "" when it held a key
    password_bytes: int
    password_hex: bool


def basic_seen(headers: Any, identity: str | None, scrubber: KeyScrubber) -> BasicSeen | None:
    """The shape of the request's Authorization header, judged apart from the decision (which
    stops at the first reason to refuse): None without such a header."""
    values = headers.get_all("Authorization")
    if not values:
        return None
    scheme = visible(values[0].partition(" ")[0][:20])
    creds = _basic_credentials(headers)
    if isinstance(creds, str):
        return BasicSeen(scheme, False, "", 0, False)
    user, password = creds
    is_identity = identity is not None and user == identity.encode("utf-8")
    shown = ("" if scrubber.holds_key(user)
             else visible(user.decode("utf-8", "backslashreplace"))[:60])
    hexchars = bool(password) and all(c in b"0123456789abcdefABCDEF" for c in password)
    return BasicSeen(scheme, is_identity, shown, len(password), hexchars)


def offered_subprotocols(headers: Any) -> list[str]:
    offered: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        offered += [p.strip() for p in value.split(",") if p.strip()]
    return offered


def _basic_credentials(headers: Any) -> tuple[bytes, bytes] | str:
    """(user bytes, password bytes) of a Basic Authorization header, or why it is unusable."""
    values = headers.get_all("Authorization")
    if not values:
        return "no Authorization header (HTTP Basic required by the security profile)"
    scheme, _, token = values[0].partition(" ")
    if scheme.lower() != "basic":
        return f"Authorization scheme {visible(scheme[:20])!r} is not Basic"
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "Authorization header is not valid base64"
    user, sep, password = raw.partition(b":")
    if not sep:
        return "Basic credentials have no ':' separator"
    return user, password


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
    scrubber: KeyScrubber | None = None,
    tls: bool | None = None,
) -> Decision:
    """The verdict on one upgrade request. `refused_for_s`: the identity is cut for that long.

    Its reason (the HTTP body) and detail (the record) hold no spelling of a configured key."""
    scrubber = scrubber or KeyScrubber(settings.keys())
    d = _decide(settings, path, headers, peer_cert, refused_for_s, scrubber, tls)
    return Decision(d.identity, d.status, scrubber.text(d.reason), scrubber.scrub(d.detail))


def _decide(settings: CsmsSettings, path: str, headers: Any, peer_cert: dict[str, Any] | None,
            refused_for_s: float | None, scrubber: KeyScrubber,
            tls: bool | None = None) -> Decision:
    offered = [visible(p) for p in offered_subprotocols(headers)]
    detail: dict[str, Any] = {"path": visible(path), "subprotocols": offered,
                              "security_profile": settings.security_profile}
    checked = check_path(path, settings.path_prefix)
    identity = checked.identity
    if identity is None:
        return Decision(None, checked.status, checked.reason, detail)
    if not set(SUBPROTOCOLS) & set(offered):
        return Decision(identity, 400, f"subprotocol {' or '.join(SUBPROTOCOLS)} required, "
                        f"offered {offered}", detail)
    known = identity in settings.stations
    if not known and not settings.any_station:
        return Decision(identity, 404, f"unknown charge point identity {identity!r}", detail)
    if refused_for_s is not None:
        return Decision(identity, 503,
                        f"reconnects refused for another {refused_for_s:.1f} s (network cut)",
                        detail)
    profile = settings.profile_for(identity)
    if profile != settings.security_profile:
        detail["security_profile"] = profile  # raised for this station at run time
    if profile >= 2 and tls is False:  # tls None: the caller's listener decides
        return Decision(identity, 403, f"a plain connection; {identity!r} is at security "
                        f"profile {profile}, which needs TLS", detail)
    has_auth_header = bool(headers.get_all("Authorization"))
    if profile == 0:
        if has_auth_header:
            detail["authorization_header_ignored"] = True
        return Decision(identity, None, "accepted (profile 0, no authentication)", detail)
    if profile == 3:
        cn = common_name(peer_cert)
        detail["client_cert_cn"] = cn
        if cn is None:
            return Decision(identity, 403, "no client certificate (profile 3 requires one)", detail)
        if cn != identity:
            return Decision(identity, 403,
                            f"client certificate CN {visible(cn)!r} differs from identity "
                            f"{identity!r}", detail)
        return Decision(identity, None, "accepted (profile 3, client certificate)", detail)
    return _basic(settings, identity, headers, detail, scrubber, profile)


def _basic(settings: CsmsSettings, identity: str, headers: Any, detail: dict[str, Any],
           scrubber: KeyScrubber, profile: int) -> Decision:
    """Profiles 1 and 2: the Basic user must be the identity, the password its key."""
    key = settings.key_for(identity)
    if key is None:  # CsmsSettings refuses such a configuration; never accept unchecked
        return Decision(identity, 403, f"no AuthorizationKey for {identity!r} at profile "
                        f"{profile}", detail)
    if scrubber.holds_key(identity):
        return Decision(identity, 403, "the charge point identity holds the AuthorizationKey",
                        detail)
    creds = _basic_credentials(headers)
    if isinstance(creds, str):
        return Decision(identity, 401, creds, detail)
    user_bytes, password = creds
    detail["password_checked"] = True
    if user_bytes != identity.encode("utf-8"):
        if scrubber.holds_key(user_bytes):
            # swapped user and password, most likely: say so without echoing either
            detail["username"] = "«holds the AuthorizationKey»"
            shown = "holds the AuthorizationKey (user name and password swapped?)"
        else:
            detail["username"] = visible(user_bytes.decode("utf-8", "backslashreplace"))[:60]
            shown = f"{detail['username']!r}"
        return Decision(identity, 403, f"Basic user name {shown} differs from the identity "
                        f"{identity!r} in the path", detail)
    detail["username"] = identity
    form = _password_form(password, key)
    if form is None:
        return Decision(identity, 401, "wrong password (AuthorizationKey)", detail)
    detail["password_form"] = form
    return Decision(identity, None, f"accepted (profile {profile}, Basic)", detail)


def common_name(peer_cert: dict[str, Any] | None) -> str | None:
    if not peer_cert:
        return None
    for rdn in peer_cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None

"""How the simulated station proves who it is: OCPP 1.6 security profiles 0-3.

Profile 1: HTTP Basic over ws://; 2: HTTP Basic over wss:// (the CSMS certificate verified
against a CA); 3: wss:// with a client certificate (CN = identity), no Basic credentials.
The Basic password is the AuthorizationKey's raw bytes (the whitepaper's key, 16-20 bytes; the
bench CSMS compares bytes). The key is never logged: it is kept out of repr(), out of the URL
and out of the websockets library's debug lines of the request headers.
"""

from __future__ import annotations

import base64
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench.logredact import redacting_logger

PROFILES = (0, 1, 2, 3)


@dataclass(frozen=True, slots=True)
class StationSecurity:
    profile: int = 0
    authorization_key: bytes | None = field(default=None, repr=False)  # profiles 1, 2
    csms_ca: Path | None = None  # profiles 2, 3: verifies the CSMS; None = system CAs
    client_cert: Path | None = None  # profile 3: the station's certificate (CN = identity)
    client_key: Path | None = None  # profile 3: its private key

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"security profile {self.profile!r}: must be 0, 1, 2 or 3")
        key = self.authorization_key
        if self.profile in (1, 2):
            if key is None:
                raise ValueError(f"security profile {self.profile} (HTTP Basic) needs the "
                                 "AuthorizationKey")
            if not 16 <= len(key) <= 20:  # the length only: the value is a secret
                raise ValueError(f"AuthorizationKey has {len(key)} bytes, must be 16 to 20")
        if self.profile == 3 and not (self.client_cert and self.client_key):
            raise ValueError("security profile 3 needs a client certificate and its key")
        for what, path in (("CSMS CA", self.csms_ca), ("client certificate", self.client_cert),
                           ("client key", self.client_key)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{what} {path}: no such file")

    @property
    def uses_tls(self) -> bool:
        return self.profile >= 2

    def check_url(self, url: str) -> None:
        """Profiles 2 and 3 speak TLS only: a ws:// URL is a configuration mistake."""
        if self.uses_tls and urlsplit(url).scheme != "wss":
            raise ValueError(f"security profile {self.profile} needs a wss:// CSMS URL, got "
                             f"{url}")

    def headers(self, url: str) -> dict[str, str] | None:
        """The Authorization header of profiles 1 and 2 (user = the identity in the URL)."""
        if self.profile not in (1, 2) or self.authorization_key is None:
            return None
        identity = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        token = base64.b64encode(identity.encode() + b":" + self.authorization_key).decode()
        return {"Authorization": f"Basic {token}"}

    def ssl_context(self, url: str) -> ssl.SSLContext | None:
        """For a wss:// URL: verify the CSMS against csms_ca; profile 3 adds the client
        certificate. Raises ValueError naming the file that cannot be used."""
        if urlsplit(url).scheme != "wss":
            return None
        try:
            ctx = ssl.create_default_context(
                cafile=str(self.csms_ca) if self.csms_ca else None)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.profile == 3:
                assert self.client_cert is not None and self.client_key is not None
                ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"TLS files (CA {self.csms_ca}, client certificate "
                             f"{self.client_cert}, key {self.client_key}): {exc}") from exc
        return ctx


def websocket_logger() -> logging.Logger:
    """The logger handed to websockets' connect(): its header lines never show a password."""
    return redacting_logger("sim.station.websocket")

"""Plain settings of the endpoint, so tests and benchmarks need no rig file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CardInfo:
    """How the bench answers an idTag: Accepted, Invalid, Blocked or Expired, with a parent."""

    id_tag: str
    status: str = "Accepted"
    parent_id_tag: str | None = None
    expiry_date: str | None = None

    def id_tag_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"status": self.status}
        if self.parent_id_tag:
            info["parentIdTag"] = self.parent_id_tag
        if self.expiry_date:
            info["expiryDate"] = self.expiry_date
        return info


@dataclass(slots=True)
class CsmsSettings:
    host: str = "127.0.0.1"
    port: int = 9000  # 0: ephemeral, read back from Csms.url
    path_prefix: str = "ocpp"  # station URL: ws://host:port/<prefix>/<id>; may be empty
    security_profile: int = 0  # 0 none, 1 Basic, 2 Basic over TLS, 3 TLS client certificate
    # known identities -> AuthorizationKey (bytes; None = no key configured)
    stations: dict[str, bytes | None] = field(default_factory=dict)
    any_station: bool = False  # accept identities not in `stations`
    # the key every identity not in `stations` must present at profiles 1 and 2; None: the
    # one key the configured stations share (a rig has one station)
    any_station_key: bytes | None = field(default=None, repr=False)
    response_timeout_s: float = 30.0
    heartbeat_interval_s: int = 300
    max_frame_bytes: int = 65536
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None  # CA that signs station certificates (profile 3)
    cards: dict[str, CardInfo] = field(default_factory=dict)  # idTag (upper case) -> card
    ping_interval_s: float | None = 20.0
    latency_probe: bool = False  # keep (arrival_ns, handed_ns) of answered station CALLs
    latency_probe_size: int = 200_000
    # keys replaced at run time (a station's password update): never accepted again, still
    # scrubbed from everything recorded
    retired_keys: list[bytes] = field(default_factory=list, repr=False)
    # identity -> the security profile it was raised to at run time (SecurityProfile upgrade,
    # Security whitepaper); the others stay at security_profile
    station_profiles: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.security_profile not in (0, 1, 2, 3):
            raise ValueError(f"security_profile = {self.security_profile}: must be 0, 1, 2 or 3")
        self.path_prefix = self.path_prefix.strip("/")
        self.cards = {k.upper(): v for k, v in self.cards.items()}
        for sid, key in [*self.stations.items(), ("(any station)", self.any_station_key)]:
            if key is not None and not 16 <= len(key) <= 20:
                raise ValueError(f"station {sid!r}: AuthorizationKey has {len(key)} bytes, "
                                 "must be 16 to 20")
        if self.security_profile in (1, 2):
            self._require_keys()
        if self.security_profile >= 2 and not (self.tls_cert and self.tls_key):
            raise ValueError(f"security_profile {self.security_profile} needs tls_cert and tls_key")
        if self.security_profile == 3 and not self.tls_ca:
            raise ValueError("security_profile 3 needs tls_ca (the CA of station certificates)")

    def _require_keys(self) -> None:
        """Profiles 1 and 2 check HTTP Basic for every connection: no key is a config error."""
        p = self.security_profile
        missing = [sid for sid, key in self.stations.items() if key is None]
        if missing:
            raise ValueError(f"security_profile {p} checks HTTP Basic, but station "
                             f"{missing[0]!r} has no AuthorizationKey configured")
        if self.any_station and self.any_station_key is None:
            keys = set(self.stations.values())
            if len(keys) != 1:
                raise ValueError(
                    f"security_profile {p} with any station: identities not configured need "
                    f"the key they must present (any_station_key); {len(keys)} station keys "
                    "are configured, so none of them can stand in")
            self.any_station_key = keys.pop()

    def key_for(self, identity: str) -> bytes | None:
        """The AuthorizationKey `identity` must present at profiles 1 and 2."""
        if identity in self.stations:
            return self.stations[identity]
        return self.any_station_key if self.any_station else None

    def keys(self) -> list[bytes]:
        """Every configured key (what must never reach the record)."""
        keys = [*self.stations.values(), self.any_station_key, *self.retired_keys]
        return [k for k in dict.fromkeys(keys) if k is not None]

    def profile_for(self, identity: str) -> int:
        return self.station_profiles.get(identity, self.security_profile)

    def replace_key(self, identity: str, key: bytes) -> None:
        """`identity` authenticates with `key` from now on (OCPP 1.6 Security whitepaper:
        the AuthorizationKey the station accepted); its previous key is refused."""
        if not 16 <= len(key) <= 20:
            raise ValueError(f"station {identity!r}: AuthorizationKey has {len(key)} bytes, "
                             "must be 16 to 20")
        old = self.key_for(identity)
        if old is not None and old != key:
            self.retired_keys.append(old)
        self.stations[identity] = key

    @property
    def uses_tls(self) -> bool:
        return self.security_profile >= 2


def key_from_hex(text: str) -> bytes:
    """An AuthorizationKey configured as 32 to 40 hex characters."""
    key = bytes.fromhex(text)
    if not 16 <= len(key) <= 20:
        raise ValueError(f"AuthorizationKey must be 16 to 20 bytes (32-40 hex), got {len(key)}")
    return key


def settings_from_rig(rig: Any, **overrides: Any) -> CsmsSettings:
    """CsmsSettings from a bench.config.rig.Rig ([csms], [station], [cards])."""
    c, st = rig.csms, rig.station
    cards: dict[str, CardInfo] = {}
    by_tag = {card.tag: card for card in getattr(rig, "cards", {}).values()}
    for card in by_tag.values():
        parent = getattr(card, "parent", None)
        if parent and parent in by_tag:  # parent named by its tag in the rig file
            parent = by_tag[parent].id_tag
        # answered by idTag (what the station sends), not by the card's UID
        cards[card.id_tag.upper()] = CardInfo(card.id_tag, card.status or "Accepted",
                                              parent or None)
    values: dict[str, Any] = {
        "host": c.host,
        "port": c.port,
        "path_prefix": c.path_prefix or "",
        "security_profile": st.security_profile,
        "stations": {st.id: st.authorization_key},
        "response_timeout_s": c.response_timeout_s,
        "heartbeat_interval_s": c.heartbeat_interval_s,
        "max_frame_bytes": c.max_frame_bytes,
        "tls_cert": c.tls_cert,
        "tls_key": c.tls_key,
        "tls_ca": c.tls_ca,
        "cards": cards,
    }
    values.update(overrides)
    return CsmsSettings(**values)

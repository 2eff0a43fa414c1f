"""Station simulator configuration: SmartDC defaults, overridable from a TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sim.station.keys import (
    KeySpec,
    cache_key,
    optional_key,
    smart_charging_keys,
    smartdc_keys,
    spec_from_toml,
    with_feature_profile,
)
from sim.station.localauth import local_list_keys
from sim.station.reservation import reservation_keys
from sim.station.security import StationSecurity
from sim.station.whitepaper import whitepaper_keys

# not settable from [station] of a station TOML: the security settings come from the rig
# file (a secret); keys and id_tags have tables of their own
_NOT_FROM_TOML = ("keys", "security", "id_tags")


@dataclass(slots=True)
class StationConfig:
    """What the simulated station is and how it behaves (beyond its OCPP keys).

    Durations are seconds of simulated time (see StationSimulator.time_scale).
    """

    vendor: str = "Flo"
    model: str = "SmartDC"
    firmware: str = "v8.8.15"
    serial_number: str = "SMARTDC-SIM-0001"
    connectors: int = 2
    fixed_cable: bool = True  # False = socket with a lock
    lock_fails: bool = False  # socket only: the lock cannot be released (TC_030)
    lock_release_delay_s: float = 1.0  # behaviour lock_opens_late: the lock motor's opening
    rejects_reset: bool = False  # answers Reset Rejected (OCPP 1.6 §5.14 allows it)
    authorization_cache: bool = False  # SmartDC: AuthorizationCacheEnabled "NA"
    backup_power: bool = False  # True = stop transactions (PowerLoss) before going down
    max_current_a: float = 200.0  # offered while charging
    # the Smart Charging profile (sim/station/smartcharging.py): its keys, its CALLs and
    # SmartCharging in SupportedFeatureProfiles; off on the SmartDC (Core only)
    smart_charging: bool = False
    # W <-> A of a composite schedule when no EV sets the DC voltage (I = P / U)
    nominal_dc_voltage_v: float = 400.0
    boot_retry_s: float = 10.0  # when BootNotification.conf interval is 0
    call_timeout_s: float = 30.0  # how long the station waits for a CSMS answer
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0
    # how long a WebSocket ping (key WebSocketPingInterval) waits for its pong before the link
    # counts as lost: the vendor's choice, OCPP 1.6 sets none
    ping_timeout_s: float = 10.0
    late_remote_start_s: float = 12.0  # fault late_remote_start
    clock_skew_s: float = 10.0  # fault clock_ahead: how far the station's clock runs ahead
    energy_register_gain: float = 1.05  # fault energy_register_high: the register counts 5 % high
    clock_aligned_late_fraction: float = 0.4  # fault clock_aligned_late: of the interval
    reset_flush_s: float = 5.0  # how long a reset waits for queued messages before closing
    firmware_install_s: float = 2.0  # UpdateFirmware: Installing -> the reboot
    security_whitepaper: bool = False  # OCPP 1.6 Security whitepaper (sim/station/whitepaper.py)
    # Local Authorization List Management (sim/station/localauth.py): off on the SmartDC
    local_auth_list: bool = False
    local_list_max_length: int = 100  # LocalAuthListMaxLength
    send_local_list_max_length: int = 20  # SendLocalListMaxLength
    local_list_store_fails: bool = False  # storing a list fails: SendLocalList Failed (TC_043_3)
    # Reservation (sim/station/reservation.py): off on the SmartDC
    reservation: bool = False
    reserve_connector_zero: bool = False  # ReserveConnectorZeroSupported
    rejects_reservations: bool = False  # configured not to accept any: Rejected (TC_048_4)
    keys: dict[str, KeySpec] = field(default_factory=dict)
    security: StationSecurity = field(default_factory=StationSecurity)  # profile 0 by default
    # card UID (upper-case hex) -> the idTag the station sends for it, as a real station's
    # back-end configuration maps them; a UID not listed is sent as its hex
    id_tags: dict[str, str] = field(default_factory=dict)

    def id_tag_for(self, uid: str) -> str:
        return self.id_tags.get(uid.upper(), uid.upper())

    @classmethod
    def smartdc(cls) -> StationConfig:
        """The station of the seed certificate: 2 connectors, fixed cable, Core only."""
        return cls(keys=smartdc_keys(2))

    @classmethod
    def load(cls, path: str | Path, base: StationConfig | None = None) -> StationConfig:
        """`base` (default SmartDC) with the overrides of a TOML file.

        [station] holds the fields of this class; [keys] holds configuration keys, each a
        value or a table {value, readonly, reboot_required, minimum, maximum}; [id_tags]
        maps card UIDs (hex) to the idTag sent for them.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"station config {path}: {exc}") from exc
        return (base or cls.smartdc()).with_overrides(data, origin=str(path))

    def with_overrides(self, data: dict, origin: str = "<dict>") -> StationConfig:
        known = {f.name for f in fields(self) if f.name not in _NOT_FROM_TOML}
        station = dict(data.get("station", {}))
        bad = sorted(set(station) - known)
        if bad:
            raise ValueError(
                f"{origin}: [station] unknown field(s) {bad}; allowed: {sorted(known)}")
        cfg = replace(self, keys=dict(self.keys), **station)
        if "connectors" in station:
            cfg.keys = smartdc_keys(cfg.connectors) | cfg.keys
            cfg.keys["NumberOfConnectors"] = cfg.keys["NumberOfConnectors"].with_value(
                str(cfg.connectors))
            cfg.keys["ConnectorPhaseRotation"] = smartdc_keys(cfg.connectors)[
                "ConnectorPhaseRotation"]
        if cfg.authorization_cache and "AuthorizationCacheEnabled" not in cfg.keys:
            cfg.keys["AuthorizationCacheEnabled"] = cache_key(True)
        if not cfg.authorization_cache:
            cfg.keys.pop("AuthorizationCacheEnabled", None)
        if cfg.smart_charging:
            cfg.keys = smart_charging_keys() | cfg.keys
            cfg.keys = with_feature_profile(cfg.keys, "SmartCharging")
        if cfg.security_whitepaper:
            cfg.keys = whitepaper_keys() | cfg.keys
        if cfg.local_auth_list:
            cfg.keys = local_list_keys(cfg.local_list_max_length,
                                       cfg.send_local_list_max_length) | cfg.keys
            cfg.keys = with_feature_profile(cfg.keys, "LocalAuthListManagement")
        if cfg.reservation:
            cfg.keys = reservation_keys(cfg.reserve_connector_zero) | cfg.keys
            cfg.keys = with_feature_profile(cfg.keys, "Reservation")
        for name, raw in data.get("keys", {}).items():
            cfg.keys[name] = spec_from_toml(name, raw, cfg.keys.get(name) or optional_key(name))
        cfg.id_tags = {**self.id_tags, **_id_tags(data.get("id_tags", {}), origin)}
        return cfg


def _id_tags(table: object, origin: str) -> dict[str, str]:
    """[id_tags] UID = "idTag": hex UIDs, idTags of 1 to 20 printable characters."""
    if not isinstance(table, dict):
        raise ValueError(f"{origin}: [id_tags] must be a table of UID = \"idTag\"")
    out: dict[str, str] = {}
    for uid, tag in table.items():
        try:
            bytes.fromhex(uid)
        except ValueError:
            raise ValueError(f"{origin}: [id_tags] {uid}: not a hex UID") from None
        if not isinstance(tag, str) or not 0 < len(tag) <= 20 or not tag.isprintable():
            raise ValueError(f"{origin}: [id_tags] {uid} = {tag!r}: must be an idTag of 1 to "
                             "20 printable characters (CiString20)")
        out[uid.upper()] = tag
    return out

"""The rig file: which station, which CSMS listen address, which instruments, which cards.

`load_rig(path) -> Rig` reads the TOML with tomllib and validates every key; a mistake raises
RigError naming the file, the table and the key, and saying what is allowed. The Basic-auth
key is kept as bytes and never appears in repr(), logs or `rig.redacted()` snapshots.
An `[instruments.NAME]` table is checked against the keys its driver registered
(instruments.registry): the loader knows no driver by name.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.files.model import FilesConfig
from instruments.registration import MISSING as _MISSING
from instruments.registration import Key, KeyProblem, RigFacts
from instruments.registration import is_type as _is_type
from instruments.registry import RegistryError, registry
from instruments.roles import ROLES

__all__ = ["Card", "CsmsConfig", "InstrumentConfig", "Key", "Rig", "RigError",
           "SimulatorConfig", "StationIdentity", "load_rig"]

CARD_STATUSES = ("Accepted", "Invalid", "Blocked", "Expired")
SECURITY_PROFILES = (0, 1, 2, 3)
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


class RigError(ValueError):
    """A rig file that cannot be used; the message names file, table, key and what is allowed."""


# -- the rig ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationIdentity:
    id: str
    security_profile: int
    authorization_key: bytes | None = field(default=None, repr=False)
    connectors: int = 1


@dataclass(frozen=True)
class CsmsConfig:
    host: str = "127.0.0.1"
    port: int = 9000
    path_prefix: str = "ocpp"
    response_timeout_s: float = 30.0
    heartbeat_interval_s: int = 30
    max_frame_bytes: int = 65536
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class SimulatorConfig:
    station_config: Path | None = None
    faults: list[str] = field(default_factory=list)
    meter_noise_pct: float = 0.0
    # the simulated station's side of the security profile (see _simulated_station_security)
    csms_ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    authorization_key: bytes | None = field(default=None, repr=False)
    behaviours: list[str] = field(default_factory=list)  # conformant-but-unusual profiles


@dataclass(frozen=True)
class InstrumentConfig:
    name: str
    driver: str
    params: dict[str, Any] = field(default_factory=dict)
    role: str = ""  # its driver's role (instruments.roles), filled in by the loader
    connector: int | None = None  # the connector a connector-bound driver serves

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    @property
    def address(self) -> str:
        """Human-readable address for messages: resource, host:port/device, or the driver."""
        p = self.params
        if "resource" in p:
            return str(p["resource"])
        if "host" in p and "port" in p:
            addr = f"{p['host']}:{p['port']}"
            if "device_id" in p:
                addr += f" device {p['device_id']}"
            return addr
        if "reader" in p:
            return f"reader {p['reader']!r}"
        if "station_address" in p:
            return f"station {p['station_address']}" + (
                f" on {p['interface']}" if p.get("interface") else "")
        return self.driver


@dataclass(frozen=True)
class Card:
    """A card of the catalogue: what a reader sees (uid) and what the station sends (id_tag).

    The station maps UID -> idTag in its own configuration; by default the idTag is the UID
    in upper-case hex. A card without a UID exists only for remote starts.
    """

    tag: str
    uid: str | None  # upper-case hex, None: a card no reader can see
    id_tag: str = ""  # CiString20; "" only in hand-made Cards: then the UID's hex
    status: str = "Accepted"
    parent: str | None = None

    def __post_init__(self) -> None:
        if not self.id_tag:
            if self.uid is None:
                raise ValueError(f"card {self.tag!r}: needs a uid or an id_tag")
            object.__setattr__(self, "id_tag", self.uid)

    @property
    def presentable(self) -> bool:
        return self.uid is not None

    @property
    def uid_bytes(self) -> bytes:
        if self.uid is None:
            raise ValueError(f"card {self.tag!r} (idTag {self.id_tag}) has no uid: it can be "
                             "used by remote starts but not presented to a reader")
        return bytes.fromhex(self.uid)


@dataclass(frozen=True)
class Rig:
    path: Path
    station: StationIdentity
    csms: CsmsConfig
    simulator: SimulatorConfig | None
    instruments: dict[str, InstrumentConfig]
    cards: dict[str, Card]
    hardware: dict[str, Any] = field(default_factory=dict)
    pics: dict[str, Any] = field(default_factory=dict)
    non_ocpp_config: dict[str, Any] = field(default_factory=dict)
    bench: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] | None = None  # the simulated rig's actual ports, when applied
    files: FilesConfig = field(default_factory=FilesConfig)  # the bench's file servers

    def card(self, tag: str) -> Card:
        try:
            return self.cards[tag]
        except KeyError:
            known = ", ".join(sorted(self.cards)) or "none"
            raise KeyError(f"{self.path}: no card {tag!r} in [cards] (known: {known})") from None

    def card_by_id_tag(self, id_tag: str) -> Card | None:
        """The card whose idTag this is (case-insensitive: idTag is a CiString)."""
        wanted = id_tag.casefold()
        return next((c for c in self.cards.values() if c.id_tag.casefold() == wanted), None)

    def card_by_uid(self, uid: str) -> Card | None:
        wanted = uid.upper()
        return next((c for c in self.cards.values() if c.uid == wanted), None)

    def instruments_of_role(self, role: str) -> list[InstrumentConfig]:
        return [i for i in self.instruments.values() if i.role == role]

    def facts(self) -> RigFacts:
        """What a driver may read of this rig (instruments.registration.RigFacts)."""
        return RigFacts(self.path, self.station.id, self.station.connectors, self.csms.port,
                        self.cards)

    def redacted(self) -> dict[str, Any]:
        """The rig as plain data for the record: secrets replaced by a marker."""
        station = dataclasses.asdict(self.station)
        station["authorization_key"] = (
            "<redacted>" if self.station.authorization_key is not None else None
        )
        return _plain({
            "path": str(self.path),
            "station": station,
            "csms": dataclasses.asdict(self.csms),
            "simulator": self._simulator_redacted(),
            "instruments": {
                n: {"driver": i.driver, **i.params} for n, i in self.instruments.items()
            },
            "cards": {t: dataclasses.asdict(c) for t, c in self.cards.items()},
            "hardware": self.hardware,
            "pics": self.pics,
            "non_ocpp_config": self.non_ocpp_config,
            "bench": self.bench,
            "endpoints": self.endpoints,
        })

    def _simulator_redacted(self) -> dict[str, Any] | None:
        if self.simulator is None:
            return None
        sim = dataclasses.asdict(self.simulator)
        if sim["authorization_key"] is not None:
            sim["authorization_key"] = "<redacted>"
        return sim

    def with_ports(self, endpoints: dict[str, Any]) -> Rig:
        """A copy pointing at the simulated rig's actual (ephemeral) ports.

        endpoints is the JSON `bench sim` prints (contracts.md): modbus host/port for every
        Modbus instrument, the SCPI resource for VISA instruments, the vpcd port for the
        virtual card, and the station id.
        """
        instruments: dict[str, InstrumentConfig] = {}
        for name, inst in self.instruments.items():
            params = dict(inst.params)
            served_by = registry().driver(inst.driver).sim_endpoint
            ep = endpoints.get(served_by) if served_by else None
            if ep and "resource" in ep and str(params.get("resource", "")).startswith("TCPIP"):
                params["resource"] = ep["resource"]
            elif ep and "host" in params and "port" in params:
                params["host"], params["port"] = ep["host"], int(ep["port"])
            instruments[name] = dataclasses.replace(inst, params=params)
        station = self.station
        if endpoints.get("station_id"):
            station = dataclasses.replace(station, id=endpoints["station_id"])
        return dataclasses.replace(
            self, instruments=instruments, station=station, endpoints=dict(endpoints)
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return "<bytes>"
    return value


# -- the declared tables: [bench], [hardware], [pics] -----------------------------------------
# One table per rig table: every key with its type, default and meaning. docs/rig-file.md
# explains them and `bench check --list-keys` prints them; nothing else may be in the table.

FEATURE_PROFILES = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                    "SmartCharging", "RemoteTrigger",
                    "Security")  # the Security whitepaper: a certification profile of its own
_NUMBER = (int, float)

BENCH_KEYS: dict[str, Key] = {
    "runs_dir": Key(str, doc="where `bench run` and `bench serve` write run directories "
                    "(default runs; --runs-dir overrides it)"),
    "operator": Key(str, doc="who runs the rig, written to run.json and the report"),
}

# The certificate's hardware feature set: it decides which cases apply (N/A with the reason).
HARDWARE_KEYS: dict[str, Key] = {
    "connectors": Key(int, doc="connectors of the hardware set; must equal [station] "
                      "connectors (default: that number)"),
    "fixed_cable": Key(bool, default=False, doc="true: the cable is fixed to the station "
                       "(TC_017_2, TC_018_2 apply); false: a socket the cable is plugged into "
                       "(TC_005_1, TC_017_1, TC_018_1, TC_024 apply)"),
    "communication": Key(str, doc="communication technology of the measurements (Ethernet, "
                         "Wi-Fi, cellular...), shown in the report's header"),
    "rfid_readers": Key(int, default=1, minimum=0, doc="RFID readers; fewer than connectors "
                        "means one reader serves several (TC_068, TC_069 then tolerate an "
                        "Authorize of the second card)"),
    "connector_lock": Key(bool, default=False, doc="a socket lock whose failure the rig can "
                          "cause (TC_030)"),
    "backup_power": Key(bool, default=False, doc="back-up power: transactions stop (PowerLoss) "
                        "before the station goes down (TC_032_1 applies, TC_032_2 does not)"),
    "authorization_cache": Key(bool, default=False, doc="an authorization cache (TC_007, "
                               "TC_061; the maintenance between cases clears it)"),
    "local_auth_list": Key(bool, default=False, doc="a local authorization list "
                           "(LocalAuthListManagement cases)"),
    "offline_start": Key(bool, default=False, doc="transactions start while offline "
                         "(LocalAuthorizeOffline / AllowOfflineTxForUnknownId): TC_037_x, "
                         "TC_039"),
    "local_stop": Key(bool, default=False, doc="a transaction can be stopped at the station "
                      "(card or button): TC_037_2, TC_038, TC_039"),
    "local_list_store_fails": Key(bool, default=False, doc="the station is in a state where "
                                  "storing a local list fails (TC_043_3 applies)"),
    "reserve_connector_zero": Key(bool, default=False, doc="reservations of the whole Charge "
                                  "Point, ReserveConnectorZeroSupported=true (TC_049, TC_050_x)"),
    "rejects_reservations": Key(bool, default=False, doc="the station is configured not to "
                                "accept reservations (TC_048_4, TC_050_4 apply; the other "
                                "Reservation cases do not)"),
}

# The values the station's PICS declares: the limits of the measurements (testplans/limits.toml
# names them) and the checks of declared behaviour. No defaults: an undeclared value is not
# judged. A plan's [settings] / [sim_settings] may shorten the intervals.
PICS_KEYS: dict[str, Key] = {
    "feature_profiles": Key(list, choices=FEATURE_PROFILES, doc="OCPP 1.6 feature profiles "
                            "the station supports (profile:<Name> requirements; absent: Core)"),
    "ocpp_response_timeout_s": Key(_NUMBER, positive=True, doc="OCPP response timeout: the "
                                   "longest the station takes to answer a CALL of the bench"),
    "triggered_function_timeout_s": Key(_NUMBER, positive=True, doc="OCPP triggered function "
                                        "timeout: CALL -> the message proving it happened; also "
                                        "how long a case waits for a station message"),
    "remote_start_response_s": Key(_NUMBER, positive=True, doc="response time of "
                                   "RemoteStartTransaction (CALL sent -> answered)"),
    "heartbeat_interval_s": Key(int, positive=True, doc="HeartbeatInterval the bench "
                                "configures (BootNotification.conf interval, TC_035); no idle "
                                "time of the station may exceed it"),
    "meter_value_sample_interval_s": Key(int, positive=True, doc="MeterValueSampleInterval "
                                         "the cases configure (TC_036, TC_070)"),
    "clock_aligned_data_interval_s": Key(int, positive=True, doc="ClockAlignedDataInterval "
                                         "the cases configure (TC_071)"),
    "connection_timeout_s": Key(int, positive=True, doc="ConnectionTimeOut the cases "
                                "configure (TC_004_2, TC_011_2)"),
    "max_time_deviation_s": Key(_NUMBER, minimum=0, doc="max time deviation: station clock vs "
                                "bench clock, and the tolerance of timed station actions"),
    "energy_tolerance_pct": Key(_NUMBER, minimum=0, doc="station energy vs the reference "
                                "meter over the same window, in %"),
    "clock_alignment_tolerance_s": Key(_NUMBER, positive=True, doc="how close a Sample.Clock "
                                       "timestamp must sit to the aligned instant (TC_071; "
                                       "bench default 1 s, a rig may tighten it)"),
    "charging_profile_reaction_s": Key(_NUMBER, positive=True, doc="Smart Charging: the "
                                       "longest the station takes to bring its output current "
                                       "under a new limit (SetChargingProfile sent, or a period "
                                       "boundary of the schedule in force)"),
    "sends_milliseconds": Key(bool, doc="the station sends milliseconds in its timestamps; "
                              "true: a timestamp in whole seconds fails the case that reads it"),
    "firmware_image": Key(str, doc="a firmware image the station installs (TC_044_1; its "
                          "corrupted copy for TC_044_3): a file, relative to the rig file's "
                          "folder"),
    "firmware_image_version": Key(str, doc="the firmwareVersion the station reports in "
                                  "BootNotification once firmware_image is installed"),
}


DECLARED_TABLES: dict[str, dict[str, Key]] = {
    "bench": BENCH_KEYS, "hardware": HARDWARE_KEYS, "pics": PICS_KEYS,
}


def describe_keys() -> list[str]:
    """One line per key of the declared tables: table, key, type, default, meaning."""
    lines = []
    for table, keys in DECLARED_TABLES.items():
        for name, k in keys.items():
            default = "" if k.default is _MISSING else f", default {_toml(k.default)}"
            lines.append(f"[{table}] {name} ({k.type_name}{default}): {k.doc}")
    return lines


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


# -- loading ---------------------------------------------------------------------------------

_TOP_TABLES = ("bench", "station", "csms", "files", "simulator", "instruments", "cards",
               "hardware", "pics", "non_ocpp_config")
_STATION_KEYS = ("id", "security_profile", "authorization_key_hex", "connectors")
_FILES_KEYS = ("host", "advertise", "tls_cert", "tls_key")
_CSMS_KEYS = ("listen", "path_prefix", "response_timeout_s", "heartbeat_interval_s",
              "max_frame_bytes", "tls_cert", "tls_key", "tls_ca")
_SIM_KEYS = ("station_config", "faults", "behaviours", "meter_noise_pct", "csms_ca", "client_cert",
             "client_key", "authorization_key_hex", "tls_pki")
_CARD_KEYS = ("uid", "id_tag", "status", "parent")


class _Ctx:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, table: str, key: str | None, problem: str) -> RigError:
        where = f"[{table}]" + (f" {key}" if key else "")
        # "[station] security_profile = 5: must be ..." (contracts.md), else "where: problem"
        sep = " " if problem.startswith("= ") else ": "
        return RigError(f"{self.path}: {where}{sep}{problem}")

    def table(self, data: dict, name: str, required: bool = False) -> dict:
        value = data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise self.fail(name, None, "missing table (required)")
            return {}
        if not isinstance(value, dict):
            raise self.fail(name, None, f"must be a table, got {type(value).__name__}")
        return value

    def only(self, table: str, data: dict, allowed: tuple[str, ...] | list[str]) -> None:
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(table, unknown[0],
                            f"unknown key; allowed keys: {', '.join(allowed) or 'none'}")

    def get(self, table: str, data: dict, key: str, typ: type | tuple[type, ...],
            default: Any = _MISSING, what: str = "") -> Any:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.fail(table, key, f"missing (required){': ' + what if what else ''}")
            return default
        if not _is_type(value, typ):
            names = Key(typ).type_name
            raise self.fail(table, key, f"= {value!r}: must be {names}"
                            + (f" ({what})" if what else ""))
        return value

    def file(self, table: str, key: str, raw: str | None) -> Path | None:
        if raw is None:
            return None
        p = Path(raw)
        if not p.is_absolute():
            near = self.path.parent / p
            p = near if near.exists() or not Path(raw).exists() else Path(raw).resolve()
        if not p.exists():
            raise self.fail(table, key, f"= {raw!r}: file not found (relative paths are "
                            "taken from the rig file's folder, then the working directory)")
        return p


def load_rig(path: str | Path) -> Rig:
    path = Path(path)
    ctx = _Ctx(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RigError(f"{path}: rig file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RigError(f"{path}: cannot read rig file: {exc}") from None
    unknown = sorted(set(data) - set(_TOP_TABLES))
    if unknown:
        raise RigError(f"{path}: [{unknown[0]}]: unknown table; allowed tables: "
                       + ", ".join(_TOP_TABLES))
    station = _station(ctx, ctx.table(data, "station", required=True))
    if "simulator" in data:  # before the TLS files are read: they may be its own
        _simulated_rig_pki(ctx, ctx.table(data, "simulator"), ctx.table(data, "csms"), station)
    csms = _csms(ctx, ctx.table(data, "csms"), station)
    simulator = _simulator(ctx, data, station, csms) if "simulator" in data else None
    cards = _cards(ctx, ctx.table(data, "cards"))
    instruments = _instruments(ctx, ctx.table(data, "instruments"), station, csms, cards)
    hardware = _declared(ctx, "hardware", ctx.table(data, "hardware"), HARDWARE_KEYS)
    hardware.setdefault("connectors", station.connectors)
    if hardware["connectors"] != station.connectors:
        raise ctx.fail("hardware", "connectors", f"= {hardware['connectors']}: must equal "
                       f"[station] connectors ({station.connectors})")
    return Rig(
        path=path, station=station, csms=csms, simulator=simulator, instruments=instruments,
        cards=cards, hardware=hardware, files=_files(ctx, ctx.table(data, "files"), csms),
        pics=_pics(ctx, ctx.table(data, "pics")),
        non_ocpp_config=ctx.table(data, "non_ocpp_config"),
        bench=_declared(ctx, "bench", ctx.table(data, "bench"), BENCH_KEYS),
    )


def _declared(ctx: _Ctx, table: str, t: dict, keys: dict[str, Key]) -> dict[str, Any]:
    """A table of declared values: only the keys of `keys`, each of its type and range;
    defaults filled in, so the record shows the whole declaration."""
    ctx.only(table, t, list(keys))
    out: dict[str, Any] = {}
    for name, k in keys.items():
        if name not in t:
            if k.default is not _MISSING:
                out[name] = k.default
            continue
        value = t[name]
        what = f"{k.type_name}: {k.doc}" if k.doc else k.type_name
        if not _is_type(value, k.type):
            raise ctx.fail(table, name, f"= {value!r}: must be {what}")
        try:
            k.validate(value)
        except KeyProblem as problem:
            raise ctx.fail(table, name, problem.text) from None
        out[name] = value
    return out


def _pics(ctx: _Ctx, t: dict) -> dict[str, Any]:
    """[pics], with firmware_image a file that exists (as an absolute path)."""
    pics = _declared(ctx, "pics", t, PICS_KEYS)
    if "firmware_image" in pics:
        pics["firmware_image"] = str(ctx.file("pics", "firmware_image", pics["firmware_image"]))
    return pics


def _station(ctx: _Ctx, t: dict) -> StationIdentity:
    ctx.only("station", t, _STATION_KEYS)
    sid = ctx.get("station", t, "id", str, what="the charge point identity")
    if not sid or any(c in sid for c in "/?#% ") or not sid.isprintable():
        raise ctx.fail("station", "id", f"= {sid!r}: must be a non-empty identity without "
                       "'/', '?', '#', '%' or spaces")
    profile = ctx.get("station", t, "security_profile", int, default=0)
    if profile not in SECURITY_PROFILES:
        raise ctx.fail("station", "security_profile", f"= {profile}: must be 0, 1, 2 or 3")
    connectors = ctx.get("station", t, "connectors", int, default=1)
    if not 1 <= connectors <= 99:
        raise ctx.fail("station", "connectors", f"= {connectors}: must be 1 to 99")
    key = _authorization_key(ctx, "station", t)
    if profile in (1, 2) and key is None:
        raise ctx.fail("station", "authorization_key_hex",
                       f"missing: security_profile {profile} (Basic auth) needs 32 to 40 hex "
                       "characters")
    return StationIdentity(sid, profile, key, connectors)


def _authorization_key(ctx: _Ctx, table: str, t: dict) -> bytes | None:
    """authorization_key_hex of `table` as bytes; the value itself is never echoed."""
    key_hex = ctx.get(table, t, "authorization_key_hex", str, default=None)
    if key_hex is None:
        return None
    if not _HEX.match(key_hex) or len(key_hex) % 2 or not 32 <= len(key_hex) <= 40:
        raise ctx.fail(table, "authorization_key_hex",
                       f"(value hidden, {len(key_hex)} characters): must be 32 to 40 hex "
                       "characters (16-20 bytes), an even number")
    return bytes.fromhex(key_hex)


def parse_listen(ctx: _Ctx, value: str) -> tuple[str, int]:
    host, sep, port_s = value.rpartition(":")
    host = host.strip("[]")
    problem = "must be HOST:PORT, e.g. 127.0.0.1:9000 or 0.0.0.0:9000 (port 0-65535)"
    if not sep or not host or not port_s.isdigit() or not 0 <= int(port_s) <= 65535:
        raise ctx.fail("csms", "listen", f"= {value!r}: {problem}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not re.match(r"^[A-Za-z0-9.-]+$", host):
            raise ctx.fail("csms", "listen", f"= {value!r}: {problem}") from None
    return host, int(port_s)


def _csms(ctx: _Ctx, t: dict, station: StationIdentity) -> CsmsConfig:
    ctx.only("csms", t, _CSMS_KEYS)
    host, port = parse_listen(ctx, ctx.get("csms", t, "listen", str, default="127.0.0.1:9000"))
    prefix = ctx.get("csms", t, "path_prefix", str, default="ocpp").strip("/")
    timeout = ctx.get("csms", t, "response_timeout_s", (int, float), default=30)
    hb = ctx.get("csms", t, "heartbeat_interval_s", int, default=30)
    max_frame = ctx.get("csms", t, "max_frame_bytes", int, default=65536)
    for key, value in (("response_timeout_s", timeout), ("heartbeat_interval_s", hb),
                       ("max_frame_bytes", max_frame)):
        if value <= 0:
            raise ctx.fail("csms", key, f"= {value}: must be > 0")
    files = {k: ctx.file("csms", k, ctx.get("csms", t, k, str, default=None))
             for k in ("tls_cert", "tls_key", "tls_ca")}
    if station.security_profile in (2, 3):
        for k in ("tls_cert", "tls_key"):
            if files[k] is None:
                raise ctx.fail("csms", k, f"missing: security_profile "
                               f"{station.security_profile} (TLS) needs tls_cert and tls_key")
    if station.security_profile == 3 and files["tls_ca"] is None:
        raise ctx.fail("csms", "tls_ca", "missing: security_profile 3 (client certificates) "
                       "needs the CA that signs station certificates")
    return CsmsConfig(host, port, prefix, float(timeout), hb, max_frame, **files)


def _files(ctx: _Ctx, t: dict, csms: CsmsConfig) -> FilesConfig:
    """[files]: where the bench's file servers (firmware, diagnostics) listen and the address
    the station reaches them at; by default the CSMS's address and certificate."""
    ctx.only("files", t, _FILES_KEYS)
    host = ctx.get("files", t, "host", str, default=csms.host)
    # listening on every address needs `advertise`; said when a case starts a file server
    advertise = ctx.get("files", t, "advertise", str, default=None)
    cert = ctx.file("files", "tls_cert", ctx.get("files", t, "tls_cert", str, default=None))
    key = ctx.file("files", "tls_key", ctx.get("files", t, "tls_key", str, default=None))
    if (cert is None) != (key is None):
        raise ctx.fail("files", "tls_key" if key is None else "tls_cert",
                       "missing: HTTPS and FTPS need both tls_cert and tls_key")
    if cert is None:
        cert, key = csms.tls_cert, csms.tls_key
    return FilesConfig(host=host, advertise=advertise, tls_cert=cert, tls_key=key)


def _simulator(ctx: _Ctx, data: dict, station: StationIdentity,
               csms: CsmsConfig) -> SimulatorConfig:
    t = ctx.table(data, "simulator")
    ctx.only("simulator", t, _SIM_KEYS)
    faults = ctx.get("simulator", t, "faults", list, default=[])
    if not all(isinstance(f, str) for f in faults):
        raise ctx.fail("simulator", "faults", "must be a list of fault names (strings)")
    behaviours = ctx.get("simulator", t, "behaviours", list, default=[])
    if not all(isinstance(b, str) for b in behaviours):
        raise ctx.fail("simulator", "behaviours", "must be a list of behaviour names (strings)")
    noise = ctx.get("simulator", t, "meter_noise_pct", (int, float), default=0.0)
    if not 0 <= noise <= 10:
        raise ctx.fail("simulator", "meter_noise_pct", f"= {noise}: must be 0 to 10 (%)")
    station_config = ctx.file("simulator", "station_config",
                              ctx.get("simulator", t, "station_config", str, default=None))
    return SimulatorConfig(station_config, list(faults), float(noise),
                           **_simulated_station_security(ctx, t, station, csms),
                           behaviours=list(behaviours))


def _simulated_rig_pki(ctx: _Ctx, t: dict, csms_table: dict, station: StationIdentity) -> None:
    """[simulator] tls_pki: a folder (relative to the rig file) where a throw-away PKI for
    the simulated rig is made if it is not there yet (bench.pki.ensure_sim_tls_pki): CSMS
    certificate for [csms] listen's host, station certificate with CN = [station] id."""
    raw = ctx.get("simulator", t, "tls_pki", str, default=None)
    if raw is None:
        return
    folder = Path(raw) if Path(raw).is_absolute() else ctx.path.parent / raw
    host, _ = parse_listen(ctx, ctx.get("csms", csms_table, "listen", str,
                                        default="127.0.0.1:9000"))
    hosts = ["127.0.0.1"] if host in ("0.0.0.0", "::", "") else [host]
    from bench.pki import ensure_sim_tls_pki  # cryptography only for rigs that ask for it

    try:
        ensure_sim_tls_pki(folder, station.id, hosts)
    except OSError as exc:
        raise ctx.fail("simulator", "tls_pki", f"= {raw!r}: cannot make the simulated rig's "
                       f"PKI there: {exc}") from None


def _simulated_station_security(ctx: _Ctx, t: dict, station: StationIdentity,
                                 csms: CsmsConfig) -> dict[str, Any]:
    """The simulated station's TLS files and, for refusal tests, a key of its own.

    csms_ca: the CA the station verifies the CSMS certificate with (profiles 2, 3); default
    [csms] tls_ca (one test CA signing both sides). client_cert/client_key: the station's
    certificate, CN = [station] id (profile 3). authorization_key_hex: the key the station
    sends instead of [station]'s (a wrong key the CSMS must refuse).
    """
    files = {k: ctx.file("simulator", k, ctx.get("simulator", t, k, str, default=None))
             for k in ("csms_ca", "client_cert", "client_key")}
    profile = station.security_profile
    if profile in (2, 3) and files["csms_ca"] is None and csms.tls_ca is None:
        raise ctx.fail("simulator", "csms_ca", f"missing: security_profile {profile} (TLS): "
                       "the simulated station verifies the CSMS certificate against a CA; "
                       "set csms_ca or [csms] tls_ca")
    if profile == 3:
        for k in ("client_cert", "client_key"):
            if files[k] is None:
                raise ctx.fail("simulator", k, "missing: security_profile 3 needs the "
                               "simulated station's client certificate (CN = [station] id) "
                               "and its key: client_cert and client_key")
    return {**files, "authorization_key": _authorization_key(ctx, "simulator", t)}


def _cards(ctx: _Ctx, t: dict) -> dict[str, Card]:
    cards: dict[str, Card] = {}
    uids: dict[str, str] = {}
    id_tags: dict[str, str] = {}  # casefolded: idTag is a CiString, compared without case
    for tag, body in t.items():
        table = f"cards.{tag}"
        if not isinstance(body, dict):
            raise ctx.fail(table, None, "must be a table with uid and/or id_tag, status, parent")
        ctx.only(table, body, _CARD_KEYS)
        uid = ctx.get(table, body, "uid", str, default=None,
                      what="hex UID, what a reader sees")
        if uid is not None:
            if not _HEX.match(uid) or len(uid) % 2 or len(uid) > 20:
                raise ctx.fail(table, "uid", f"= {uid!r}: must be hex, an even number of "
                               "characters, at most 20 (a 4, 7 or 10 byte UID)")
            uid = uid.upper()
            if uid in uids:
                raise ctx.fail(table, "uid", f"= {uid!r}: same UID as [cards.{uids[uid]}]")
            uids[uid] = tag
        id_tag = ctx.get(table, body, "id_tag", str, default=None,
                         what="the idTag the station sends, CiString20")
        if id_tag is None and uid is None:
            raise ctx.fail(table, None, "needs uid (what a reader sees; the idTag defaults to "
                           "it) or id_tag (what the station sends; without a uid the card is "
                           "for remote starts only), or both")
        if id_tag is not None:
            _check_cistring20(ctx, table, "id_tag", id_tag)
        id_tag = id_tag if id_tag is not None else uid
        assert id_tag is not None
        if id_tag.casefold() in id_tags:
            raise ctx.fail(table, "id_tag" if "id_tag" in body else "uid",
                           f"= {id_tag!r}: same idTag as [cards.{id_tags[id_tag.casefold()]}]")
        id_tags[id_tag.casefold()] = tag
        status = ctx.get(table, body, "status", str, default="Accepted")
        if status not in CARD_STATUSES:
            raise ctx.fail(table, "status", f"= {status!r}: must be one of "
                           + ", ".join(CARD_STATUSES))
        parent = ctx.get(table, body, "parent", str, default=None)
        if parent is not None:
            _check_cistring20(ctx, table, "parent", parent)
        cards[tag] = Card(tag, uid, id_tag, status, parent)
    return cards


def _check_cistring20(ctx: _Ctx, table: str, key: str, value: str) -> None:
    """OCPP 1.6 IdToken: CiString20, 1 to 20 printable characters."""
    if not 0 < len(value) <= 20 or not value.isprintable():
        raise ctx.fail(table, key, f"= {value!r}: must be 1 to 20 printable characters "
                       "(an OCPP idTag is a CiString20)")


def _instruments(ctx: _Ctx, t: dict, station: StationIdentity, csms: CsmsConfig,
                 cards: dict[str, Card]) -> dict[str, InstrumentConfig]:
    """Each [instruments.NAME] against the keys its driver registered; one instrument per
    slot of the bench (per connector for an EV emulator or a meter, per rig otherwise)."""
    facts = RigFacts(ctx.path, station.id, station.connectors, csms.port, cards)
    out: dict[str, InstrumentConfig] = {}
    slots: dict[tuple[str, int | None], str] = {}
    for name, body in t.items():
        table = f"instruments.{name}"
        if not isinstance(body, dict):
            raise ctx.fail(table, None, "must be a table with a driver key")
        driver = ctx.get(table, body, "driver", str,
                         what="a registered driver (bench check --list-drivers)")
        try:
            reg = registry().driver(driver)
        except RegistryError as exc:
            raise ctx.fail(table, "driver", f"= {driver!r}: {exc}") from None
        rest = {k: v for k, v in body.items() if k != "driver"}
        ctx.only(table, rest, ["driver", *reg.keys])
        params: dict[str, Any] = {}
        for key, k in reg.keys.items():
            if k.required or key in rest:
                value = ctx.get(table, rest, key, k.type, what=k.doc)
            elif k.default is not _MISSING:
                value = k.default
            else:
                continue
            try:
                k.validate(value, facts)
            except KeyProblem as problem:
                raise ctx.fail(table, f"{key}.{problem.subkey}" if problem.subkey else key,
                               problem.text) from None
            params[key] = value
        connector = params.get("connector") if reg.binding == "connector" else None
        if connector is not None and not 1 <= connector <= station.connectors:
            raise ctx.fail(table, "connector", f"= {connector}: must be 1 to "
                           f"{station.connectors} ([station] connectors)")
        role = ROLES[reg.role]
        taken = slots.setdefault((role.name, connector), name)
        if taken != name:
            where = f"connector {connector}" if connector is not None else "the rig"
            per = "connector" if connector is not None else "rig"
            raise ctx.fail(table, "driver", f"= {driver!r}: {where} already has one "
                           f"{role.title}, [instruments.{taken}] (the bench drives one per "
                           f"{per})")
        out[name] = InstrumentConfig(name, driver, params, role.name, connector)
    return out

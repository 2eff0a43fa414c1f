"""OCPP configuration keys of the simulated station: types, limits, access, validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["bool", "int", "measurands", "string"]

# Measurands the simulated meter can deliver (all from the physical model).
SUPPORTED_MEASURANDS = (
    "Energy.Active.Import.Register",
    "Voltage",
    "Current.Import",
    "Current.Offered",
    "Power.Active.Import",
    "Power.Offered",
    "SoC",
)

# The certificate spells some measurands loosely ("Current.Offer", "Energy, Active. Import").
_SPELLING_FIXES = {"current.offer": "Current.Offered"}


def normalise_measurands(text: str) -> str:
    """A comma-separated list of valid measurand names from a loosely written list."""
    compact = "".join(text.split())
    # "Energy, Active, Import, Register" is one name whose dots became commas
    dotted = re.sub(r"[.,;]+", ".", compact).strip(".")
    if dotted in SUPPORTED_MEASURANDS:
        return dotted
    items = [p for p in re.split(r"[,;]", compact) if p]
    return ",".join(_SPELLING_FIXES.get(i.lower(), i) for i in items)


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    value: str
    kind: Kind = "string"
    readonly: bool = False
    minimum: int | None = None
    maximum: int | None = None
    reboot_required: bool = False

    def with_value(self, value: str) -> KeySpec:
        return replace(self, value=value)

    def valid(self, value: str) -> bool:
        """Would `value` be accepted for this key?"""
        if self.kind == "bool":
            return value.strip().lower() in ("true", "false")
        if self.kind == "int":
            try:
                number = int(value.strip())
            except ValueError:
                return False
            if self.minimum is not None and number < self.minimum:
                return False
            return self.maximum is None or number <= self.maximum
        if self.kind == "measurands":
            items = [p.strip() for p in value.split(",") if p.strip()]
            return all(i in SUPPORTED_MEASURANDS for i in items)
        return len(value) <= 500


def _int(name: str, value: int, lo: int = 0, hi: int = 86_400, ro: bool = False) -> KeySpec:
    return KeySpec(name, str(value), "int", ro, lo, hi)


def _bool(name: str, value: bool, ro: bool = False) -> KeySpec:
    return KeySpec(name, "true" if value else "false", "bool", ro)


def _meas(name: str, value: str) -> KeySpec:
    return KeySpec(name, normalise_measurands(value), "measurands")


def smartdc_keys(connectors: int) -> dict[str, KeySpec]:
    """The configuration the SmartDC certificate lists (Core only), spelled validly.

    MeterValuesSampledData gets Energy.Active.Import.Register in front of the certificate's
    list: the bench compares that register with its reference meter.
    """
    phase = ",".join(f"{n}.NotApplicable" for n in range(connectors + 1))
    keys = [
        _bool("AllowOfflineTxForUnknownId", True),
        _bool("AuthorizeRemoteTxRequests", True),
        _int("ClockAlignedDataInterval", 10),
        _int("ConnectionTimeOut", 60, hi=3600),
        KeySpec("ConnectorPhaseRotation", phase),
        _int("GetConfigurationMaxKeys", 256, ro=True),
        _int("HeartbeatInterval", 30),
        _bool("LocalAuthorizeOffline", False),
        _bool("LocalPreAuthorize", False),
        _meas("MeterValuesAlignedData", "Energy, Active. Import. Register"),
        _meas("MeterValuesSampledData",
              "Energy.Active.Import.Register;Voltage;Current.Offer;Current.Import"),
        _int("MeterValueSampleInterval", 10),
        _int("MinimumStatusDuration", 0, hi=3600),
        _int("NumberOfConnectors", connectors, ro=True),
        _int("ResetRetries", 0, hi=10),
        _bool("StopTransactionOnEVSideDisconnect", True),
        _bool("StopTransactionOnInvalidId", True),
        _meas("StopTxnAlignedData", "Energy, Active, Import, Register"),
        _meas("StopTxnSampledData", "Voltage;Current.Offer;Current.Import"),
        KeySpec("SupportedFeatureProfiles", "Core", readonly=True),
        _int("TransactionMessageAttempts", 4294967295, hi=4294967295),
        _int("TransactionMessageRetryInterval", 5),
        _bool("UnlockConnectorOnEVSideDisconnect", True),
        # non-OCPP vendor settings reported on the certificate
        KeySpec("CustomDisplayCostAndPrice", "TRUE", reboot_required=True),
        KeySpec("CustomidleFeeAfterStop", "FALSE"),
        KeySpec("DefaultPrice", '{"priceText":"^Gratuit"}'),
        KeySpec("flo:CustomMessage", "Assurez-vous du véhicule éteint"),
        KeySpec("flo:WelcomeMessage", "Tenez votre carte près du lecteur"),
    ]
    return {k.name: k for k in keys}


def smart_charging_keys() -> dict[str, KeySpec]:
    """The Smart Charging profile's keys (OCPP 1.6 §9.4), read-only as the station's
    capabilities: enough for TC_066 (3 profiles, 5 periods)."""
    keys = [_int("ChargeProfileMaxStackLevel", 8, ro=True),
            KeySpec("ChargingScheduleAllowedChargingRateUnit", "Current,Power", readonly=True),
            _int("ChargingScheduleMaxPeriods", 10, ro=True),
            _int("MaxChargingProfilesInstalled", 8, ro=True)]
    return {k.name: k for k in keys}


def with_feature_profile(keys: dict[str, KeySpec], profile: str) -> dict[str, KeySpec]:
    """`keys` with `profile` added to SupportedFeatureProfiles (once)."""
    spec = keys["SupportedFeatureProfiles"]
    names = [n for n in spec.value.split(",") if n]
    if profile not in names:
        names.append(profile)
    return keys | {spec.name: spec.with_value(",".join(names))}


def optional_key(name: str) -> KeySpec | None:
    """Type and limits of an optional OCPP key the SmartDC lacks, for a station TOML adding it.

    WebSocketPingInterval: seconds between the station's WebSocket pings, 0 = none; negative
    values are not allowed (OCPP 1.6 §9.1.34: ChangeConfiguration answers Rejected).
    SupportedFileTransferProtocols: the protocols the FirmwareManagement profile's transfers
    use (§9.4), read-only.
    """
    return {"WebSocketPingInterval": _int("WebSocketPingInterval", 0),
            "SupportedFileTransferProtocols": KeySpec("SupportedFileTransferProtocols", "",
                                                      readonly=True)}.get(name)


def cache_key(enabled: bool = True) -> KeySpec:
    return _bool("AuthorizationCacheEnabled", enabled)


def spec_from_toml(name: str, raw: object, current: KeySpec | None) -> KeySpec:
    """A key from a TOML value: a scalar (new value) or a table (value, readonly, ...)."""
    table = raw if isinstance(raw, dict) else {"value": raw}
    base = current or KeySpec(name, "", _guess_kind(table.get("value")))
    value = table.get("value", base.value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    value = str(value)
    if base.kind == "measurands":
        value = normalise_measurands(value)
    return replace(
        base,
        value=value,
        readonly=bool(table.get("readonly", base.readonly)),
        reboot_required=bool(table.get("reboot_required", base.reboot_required)),
        minimum=table.get("minimum", base.minimum),
        maximum=table.get("maximum", base.maximum),
    )


def _guess_kind(value: object) -> Kind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "string"

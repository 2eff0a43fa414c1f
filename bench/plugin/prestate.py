"""Configuration pre-state of a case: set the keys it declares (ChangeConfiguration), read them
back (GetConfiguration), and put the old values back afterwards.

A key the station does not know fails the pre-state, unless OCPP 1.6 §9.1 makes it optional:
then the station does without the behaviour the key tunes and the case runs without it (the
checks list says so). A case whose very subject is an optional key requires it instead
(`requires=("config_rw:Key",)`: N/A when the station lacks it)."""

from __future__ import annotations

from typing import Any

from bench.plugin.context import Case
from bench.plugin.verdicts import StationNonConformance

# Core keys OCPP 1.6 §9.1 marks optional (a station may not implement them)
OPTIONAL_CORE_KEYS = frozenset({
    "AllowOfflineTxForUnknownId", "AuthorizationCacheEnabled", "BlinkRepeat",
    "ConnectorPhaseRotationMaxLength", "LightIntensity", "MaxEnergyOnInvalidId",
    "MeterValuesAlignedDataMaxLength", "MeterValuesSampledDataMaxLength",
    "MinimumStatusDuration", "StopTxnAlignedDataMaxLength", "StopTxnSampledDataMaxLength",
    "SupportedFeatureProfilesMaxLength", "WebSocketPingInterval",
})


def resolve_config(wanted: dict[str, Any], settings: dict[str, Any],
                   case_id: str) -> dict[str, str]:
    """Values are strings as OCPP has them; `{setting}` is taken from the run's settings."""
    out: dict[str, str] = {}
    for key, value in wanted.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        if "{" in text:
            try:
                text = text.format(**settings)
            except KeyError as exc:
                raise KeyError(f"{case_id}: config {key} = {value!r}: no setting {exc}") from None
        if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
            text = text[:-2]
        out[key] = text
    return out


async def read_config(station: Any, keys: list[str]) -> tuple[dict[str, str | None], list[str]]:
    res = await station.call("GetConfiguration", {"key": keys})
    if res.error is not None:
        raise StationNonConformance(
            f"expected GetConfiguration({', '.join(keys)}) to be answered; the station sent "
            f"CALLERROR {res.error.code} {res.error.description!r}")
    values = {str(e.get("key")): e.get("value") for e in res.get("configurationKey", []) or []}
    return values, list(res.get("unknownKey", []) or [])


async def change_and_verify(station: Any, case: Case, wanted: dict[str, str],
                            purpose: str = "pre-state") -> dict[str, str | None]:
    """Set every key, then read all back; returns the values they had before."""
    if not wanted:
        return {}
    keys = list(wanted)
    before, unknown = await read_config(station, keys)
    required = [k for k in unknown if k not in OPTIONAL_CORE_KEYS]
    if required:
        raise StationNonConformance(
            f"{purpose}: expected configuration key(s) {', '.join(required)} to exist; the "
            "station reported them in unknownKey")
    for key in unknown:  # optional: the station lacks the behaviour the key tunes
        case.passed(f"{purpose}: {key} not set: the station does not implement this optional "
                    "key (OCPP 1.6 §9.1)")
    wanted = {k: v for k, v in wanted.items() if k not in unknown}
    keys = list(wanted)
    if not wanted:
        return {}
    for key, value in wanted.items():
        if before.get(key) == value:
            continue
        res = await station.call("ChangeConfiguration", {"key": key, "value": value})
        status = res.get("status") if res.error is None else f"CALLERROR {res.error.code}"
        if status != "Accepted":
            raise StationNonConformance(
                f"{purpose}: expected ChangeConfiguration({key}={value}) to be Accepted; the "
                f"station answered {status}")
    after, _ = await read_config(station, keys)
    wrong = {k: after.get(k) for k, v in wanted.items() if after.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k}={wanted[k]!r} but read back {v!r}" for k, v in wrong.items())
        raise StationNonConformance(f"{purpose}: expected GetConfiguration to read back the "
                                    f"values just set; {detail}")
    case.passed(f"{purpose}: " + ", ".join(f"{k}={v}" for k, v in wanted.items())
                + " set and read back")
    return {k: before.get(k) for k in keys}


async def apply_case_config(station: Any, case: Case, wanted: dict[str, str]) -> None:
    before = await change_and_verify(station, case, wanted)
    case.config_applied = {k: v for k, v in wanted.items() if k in before}
    case.config_original = before


async def restore_case_config(station: Any, case: Case) -> None:
    # every declared key, also one the case changed otherwise (a Boot interval sets
    # HeartbeatInterval): change_and_verify leaves keys alone that already hold the value
    back = {k: v for k, v in case.config_original.items() if v is not None}
    if back:
        await change_and_verify(station, case, back, purpose="restore")


async def remember_config(station: Any, case: Case, *keys: str) -> None:
    """Register keys the case will change by other means (e.g. a Boot interval sets
    HeartbeatInterval) so that maintenance restores their current values afterwards."""
    values, _ = await read_config(station, list(keys))
    for key in keys:
        if key in values and key not in case.config_original:
            case.config_original[key] = values[key]

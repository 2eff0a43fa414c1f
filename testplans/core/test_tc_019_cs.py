"""TC_019_CS Retrieve configuration (docs/catalogue.md; OCTT p32).

GetConfiguration(SupportedFeatureProfiles): unknownKey empty, the value a comma-separated list
that contains Core (others from FirmwareManagement, LocalAuthListManagement, Reservation,
SmartCharging, RemoteTrigger). GetConfiguration() (all keys): every required key of every
supported profile present, with the accessibility OCTT checks (docs/checks.md). GetConfiguration
of those keys by name (at most GetConfigurationMaxKeys per request): all known, the same
accessibility and values as in the full list.
"""

import pytest

from testplans.ocpp import check_answer_ok

pytestmark = pytest.mark.octt("TC_019_CS", "Retrieve configuration")

RW, R, ANY = "RW", "R", "R or RW"

# Required keys per profile and the accessibility TC_019 checks (OCPP 1.6 §9.1; docs/checks.md)
REQUIRED: dict[str, dict[str, str]] = {
    "Core": {
        "AuthorizeRemoteTxRequests": ANY, "ClockAlignedDataInterval": RW,
        "ConnectionTimeOut": RW, "ConnectorPhaseRotation": RW, "GetConfigurationMaxKeys": R,
        "HeartbeatInterval": RW, "LocalAuthorizeOffline": RW, "LocalPreAuthorize": RW,
        "MeterValuesAlignedData": RW, "MeterValuesSampledData": RW,
        "MeterValueSampleInterval": RW, "NumberOfConnectors": R, "ResetRetries": RW,
        "StopTransactionOnEVSideDisconnect": RW, "StopTransactionOnInvalidId": RW,
        "StopTxnAlignedData": RW, "StopTxnSampledData": RW, "SupportedFeatureProfiles": R,
        "TransactionMessageAttempts": RW, "TransactionMessageRetryInterval": RW,
        "UnlockConnectorOnEVSideDisconnect": RW,
    },
    "LocalAuthListManagement": {
        "LocalAuthListEnabled": RW, "LocalAuthListMaxLength": R, "SendLocalListMaxLength": R,
    },
    "SmartCharging": {
        "ChargeProfileMaxStackLevel": R, "ChargingScheduleAllowedChargingRateUnit": R,
        "ChargingScheduleMaxPeriods": R, "MaxChargingProfilesInstalled": R,
    },
    "FirmwareManagement": {}, "Reservation": {}, "RemoteTrigger": {},
}


def access(entry: dict) -> str:
    return R if entry.get("readonly") else RW


WORDS = {R: "read-only", RW: "read-write", ANY: "read-only or read-write"}


def check_access(case, key: str, entry: dict, wanted: str, where: str) -> None:
    case.check(wanted == ANY or access(entry) == wanted, f"{key} to be {WORDS[wanted]}",
               f"reports it {WORDS[access(entry)]} (readonly={entry.get('readonly')!r}) in "
               f"{where}", quiet=True)


async def get_configuration(case, keys: list[str] | None, what: str) -> tuple[dict, list]:
    res = await case.station.call("GetConfiguration", {"key": keys} if keys else {})
    check_answer_ok(case, res, what)
    entries = {e.get("key"): e for e in res.get("configurationKey", []) or []}
    return entries, list(res.get("unknownKey", []) or [])


async def test_tc_019_cs(case):
    with case.step("GetConfiguration(SupportedFeatureProfiles): contains Core"):
        entries, unknown = await get_configuration(case, ["SupportedFeatureProfiles"],
                                                   "GetConfiguration(SupportedFeatureProfiles)")
        case.check(not unknown, "an empty unknownKey list", f"reported unknownKey {unknown}")
        entry = entries.get("SupportedFeatureProfiles")
        case.check(entry is not None, "configurationKey SupportedFeatureProfiles",
                   f"returned only {sorted(entries)}")
        value = str(entry.get("value") or "")
        profiles = [p.strip() for p in value.split(",") if p.strip()]
        case.check("Core" in profiles, "SupportedFeatureProfiles to contain Core",
                   f"reports {value!r}")
        odd = [p for p in profiles if p not in REQUIRED]
        case.check(not odd, f"only profiles among {', '.join(REQUIRED)}",
                   f"reports {', '.join(odd)} in SupportedFeatureProfiles {value!r}")
    required = {k: a for p in profiles for k, a in REQUIRED[p].items()}

    with case.step(f"GetConfiguration() (all keys): the required keys of {', '.join(profiles)}"):
        every, unknown = await get_configuration(case, None, "GetConfiguration()")
        case.check(not unknown, "no unknownKey when all keys are asked for",
                   f"reported unknownKey {unknown}")
        missing = [k for k in required if k not in every]
        case.check(not missing, f"every required key of {', '.join(profiles)}",
                   f"left out {', '.join(missing)} ({len(every)} keys returned)")
        for key, wanted in required.items():
            check_access(case, key, every[key], wanted, "GetConfiguration()")
        case.passed(f"{len(required)} required keys present, accessibility as TC_019 wants "
                    f"({len(every)} keys in all)")

    max_keys_text = str(every["GetConfigurationMaxKeys"].get("value") or "").strip()
    case.check(max_keys_text.isdigit() and int(max_keys_text) > 0,
               "GetConfigurationMaxKeys to be a positive integer", f"reports {max_keys_text!r}")
    per_call = int(max_keys_text)
    names = list(required)
    with case.step(f"GetConfiguration of the {len(names)} keys by name "
                   f"(at most {per_call} per request)"):
        for i in range(0, len(names), per_call):
            chunk = names[i:i + per_call]
            some, unknown = await get_configuration(case, chunk,
                                                    f"GetConfiguration({len(chunk)} keys)")
            case.check(not unknown, "every key asked for by name to be known",
                       f"reported unknownKey {unknown}")
            left_out = [k for k in chunk if k not in some]
            case.check(not left_out, "a configurationKey for each key asked for",
                       f"left out {', '.join(left_out)}")
            extra = [k for k in some if k not in chunk]
            case.check(not extra, "only the keys asked for", f"also returned {extra}")
            for key in chunk:
                check_access(case, key, some[key], required[key], "GetConfiguration by name")
                case.check(some[key].get("value") == every[key].get("value"),
                           f"{key} by name to read as in the full list "
                           f"({every[key].get('value')!r})",
                           f"reports {some[key].get('value')!r}", quiet=True)
        case.passed(f"{len(names)} keys by name: known, same accessibility and values")

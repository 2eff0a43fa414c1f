"""Case id -> feature profile and name: the OCTT case list of every feature profile (the
cases the bench implements are described in docs/catalogue.md).

The certificate summarises results per feature profile, so every case a run records must
land in one. Ids the catalogue does not know (bench-specific cases such as a soak run) go to
"Other" rather than being dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CORE = "Core"
FIRMWARE = "Firmware Management"
SMART = "Smart Charging"
RESERVATION = "Reservation"
LOCAL_LIST = "Local Authorization List Management"
REMOTE_TRIGGER = "Remote Trigger"
SECURITY = "Security"
OTHER = "Other"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    ocpp_name: str  # as in SupportedFeatureProfiles / PICS feature_profiles
    description: str
    certified: bool = True  # listed in the certificate's Test Result Summary


PROFILES: tuple[Profile, ...] = (
    Profile(CORE, "Core", "Basic Charging Station functionality for booting, authorization "
            "(incl. cache if available), configuration, transactions, remote control."),
    Profile(FIRMWARE, "FirmwareManagement", "Support for (remote) firmware update management "
            "and diagnostic log file download."),
    Profile(SMART, "SmartCharging", "Support for Smart Charging (all profile types, including "
            "stacking), to control charging."),
    Profile(RESERVATION, "Reservation", "Support for reservation of a connector of a Charging "
            "Station."),
    Profile(LOCAL_LIST, "LocalAuthListManagement", "Features to manage a local list in the "
            "charging station containing authorization data for whitelisting users."),
    Profile(REMOTE_TRIGGER, "RemoteTrigger", "Support for remotely triggering messages that "
            "originate from a Charging Station."),
    Profile(SECURITY, "Security", "OCPP 1.6 Security whitepaper cases (separate certification "
            "profile).", certified=False),
    Profile(OTHER, "", "Bench cases outside the OCTT catalogue (e.g. soak runs).",
            certified=False),
)
PROFILE_BY_NAME = {p.name: p for p in PROFILES}
PROFILE_BY_OCPP_NAME = {p.ocpp_name: p for p in PROFILES if p.ocpp_name}

# Catalogue §1: the case id's number decides its profile (variants _1, _2 ... share it).
_NUMBERS = {
    CORE: "001 002 003 004 005 007 010 011 012 013 014 015 016 017 018 019 021 023 024 026 "
          "027 028 030 031 032 034 035 036 037 038 039 040 041 061 062 064 068 069 070 071",
    LOCAL_LIST: "008 042 043",
    FIRMWARE: "044 045",
    RESERVATION: "046 047 048 049 050 051 052 053",
    REMOTE_TRIGGER: "054 055",
    SMART: "056 057 058 059 060 066 067 072 082",
    SECURITY: "073 074 075 076 077 078 079 080 081 083 084 085 086 087 088",
}
PROFILE_BY_NUMBER = {num: prof for prof, nums in _NUMBERS.items() for num in nums.split()}

CASE_NAMES = {
    "TC_001_CS": "Cold Boot Charge Point",
    "TC_002_CS": "Cold Boot Charge Point – Pending",
    "TC_003_CS": "Regular Charging Session – Plugin First",
    "TC_004_1_CS": "Regular Charging Session – Identification First",
    "TC_004_2_CS": "Identification First – ConnectionTimeOut",
    "TC_005_1_CS": "EV Side Disconnected – Stop=true, Unlock=true",
    "TC_005_2_CS": "EV Side Disconnected – Stop=true, Unlock=false",
    "TC_005_3_CS": "EV Side Disconnected – Stop=false, Unlock=false",
    "TC_007_CS": "Regular Start Charging Session – Cached Id",
    "TC_010_CS": "Remote Start – Cable Plugged in First",
    "TC_011_1_CS": "Remote Start – Remote Start First",
    "TC_011_2_CS": "Remote Start – Time Out",
    "TC_012_CS": "Remote Stop Charging Session",
    "TC_013_CS": "Hard Reset Without transaction",
    "TC_014_CS": "Soft Reset Without transaction",
    "TC_015_CS": "Hard Reset With Transaction",
    "TC_016_CS": "Soft Reset With Transaction",
    "TC_017_1_CS": "Unlock connector – no session (Not fixed cable)",
    "TC_017_2_CS": "Unlock connector – no session (Fixed cable)",
    "TC_018_1_CS": "Unlock Connector – With Session (Not fixed cable)",
    "TC_018_2_CS": "Unlock Connector – With Session (Fixed cable)",
    "TC_019_CS": "Retrieve configuration",
    "TC_021_CS": "Change/set Configuration",
    "TC_023_CS": "Start Charging Session – Authorize invalid",
    "TC_024_CS": "Start Charging Session – Lock Failure",
    "TC_026_CS": "Remote Start – Rejected",
    "TC_027_CS": "Remote start – connector id shall not be 0",
    "TC_028_CS": "Remote Stop Transaction – Rejected",
    "TC_030_CS": "Unlock Connector – Unlock Failure",
    "TC_031_CS": "Unlock Connector – Unknown Connector",
    "TC_032_1_CS": "Power failure – configured to stop transaction(s) before going down",
    "TC_032_2_CS": "Power failure boot – configured to stop transaction(s)",
    "TC_034_CS": "Power Failure with Unavailable Status",
    "TC_035_CS": "Idle Charge Point",
    "TC_036_CS": "Connection Loss During Transaction",
    "TC_037_1_CS": "Offline Start Transaction – Valid IdTag",
    "TC_037_2_CS": "Offline Start – Invalid IdTag, StopTransactionOnInvalidId=false",
    "TC_037_3_CS": "Offline Start – Invalid IdTag, StopTransactionOnInvalidId=true",
    "TC_038_CS": "Offline Stop Transaction",
    "TC_039_CS": "Offline Transaction",
    "TC_040_1_CS": "Configuration key – NotSupported",
    "TC_040_2_CS": "Configuration key – Invalid value",
    "TC_041_CS": "Fault Behavior",
    "TC_061_CS": "Clear Authorization Data in Authorization Cache",
    "TC_062_CS": "Data Transfer to a Charge Point",
    "TC_064_CS": "Data Transfer to a Central System",
    "TC_068_CS": "Stop transaction – IdTag in StopTransaction matches IdTag in StartTransaction",
    "TC_069_CS": "Stop transaction – ParentIdTag matches",
    "TC_070_CS": "Sampled Meter Values",
    "TC_071_CS": "Clock-aligned Meter Values",
    "TC_008_CS": "Regular Start – Id in Local Authorization List",
    "TC_042_1_CS": "Get Local List Version (not supported)",
    "TC_042_2_CS": "Get Local List Version (empty)",
    "TC_043_CS": "Send Local Authorization List",
    "TC_043_1_CS": "Send Local List – NotSupported",
    "TC_043_2_CS": "Send Local List – VersionMismatch",
    "TC_043_3_CS": "Send Local List – Failed",
    "TC_044_1_CS": "Firmware Update – Download and Install",
    "TC_044_2_CS": "Firmware Update – Download Failed",
    "TC_044_3_CS": "Firmware Update – Installation Failed",
    "TC_045_1_CS": "Get Diagnostics",
    "TC_045_2_CS": "Get Diagnostics – Upload Failed",
    "TC_046_1_CS": "Reservation of a Connector – Local start transaction",
    "TC_046_2_CS": "Reservation of a Connector – Remote start transaction",
    "TC_047_CS": "Reservation of a Connector – Expire",
    "TC_048_1_CS": "Reservation of a Connector – Faulted",
    "TC_048_2_CS": "Reservation of a Connector – Occupied",
    "TC_048_3_CS": "Reservation of a Connector – Unavailable",
    "TC_048_4_CS": "Reservation of a Connector – Rejected",
    "TC_049_CS": "Reservation of a Charge Point – Transaction",
    "TC_050_1_CS": "Reservation of a Charge Point – Faulted",
    "TC_050_2_CS": "Reservation of a Charge Point – Occupied",
    "TC_050_3_CS": "Reservation of a Charge Point – Unavailable",
    "TC_050_4_CS": "Reservation of a Charge Point – Rejected",
    "TC_051_CS": "Cancel Reservation",
    "TC_052_CS": "Cancel Reservation – Rejected",
    "TC_053_CS": "Use a reserved Connector with parentIdTag",
    "TC_054_CS": "Trigger Message",
    "TC_055_CS": "Trigger Message – Rejected",
    "TC_056_CS": "Central Smart Charging – TxDefaultProfile",
    "TC_057_CS": "Central Smart Charging – TxProfile",
    "TC_058_1_CS": "No ongoing transaction",
    "TC_058_2_CS": "Wrong transactionId",
    "TC_059_CS": "Remote Start Transaction with Charging Profile",
    "TC_060_CS": "Remote Start with Charging Profile – Rejected",
    "TC_066_CS": "Get Composite Schedule",
    "TC_067_CS": "Clear Charging Profile",
    "TC_072_CS": "Stacking Charging Profiles",
    "TC_082_CS": "TxDefaultProfile with ongoing transaction",
    "TC_073_CS": "Update Charge Point Password for HTTP Basic Authentication",
    "TC_083_CS": "Upgrade security profile",
    "TC_074_CS": "Update Charge Point Certificate by request of Central System",
    "TC_075_1_CS": "Install a certificate – ManufacturerRootCertificate",
    "TC_075_2_CS": "Install a certificate – CentralSystemRootCertificate",
    "TC_076_CS": "Delete a specific certificate",
    "TC_077_CS": "Invalid ChargePointCertificate Security Event",
    "TC_078_CS": "Invalid CentralSystemCertificate Security Event",
    "TC_079_CS": "Get Security Log",
    "TC_080_CS": "Secure Firmware Update",
    "TC_081_CS": "Secure Firmware Update – Invalid Signature",
    "TC_084_CS": "Security profile – no fall back to a lower profile",
    "TC_085_CS": "Basic Authentication – valid username/password",
    "TC_086_CS": "TLS – server-side certificate – valid certificate",
    "TC_087_CS": "TLS – client-side certificate – valid certificate",
    "TC_088_CS": "WebSocket subprotocol negotiation",
}

_ID_NUMBER = re.compile(r"^TC_(\d{3})", re.IGNORECASE)


def profile_of(case_id: str) -> str:
    """The feature profile a case id belongs to ("Other" when the catalogue does not know it)."""
    m = _ID_NUMBER.match(case_id or "")
    return PROFILE_BY_NUMBER.get(m.group(1), OTHER) if m else OTHER


def name_of(case_id: str) -> str:
    """The catalogue's name of a case; older variant ids (TC_023_1_CS) fall back to their base."""
    if case_id in CASE_NAMES:
        return CASE_NAMES[case_id]
    m = re.match(r"^(TC_\d{3})_\d+(_CS)?$", case_id or "")
    return CASE_NAMES.get(f"{m.group(1)}_CS", "") if m else ""


def declared_profiles(pics: dict | None, station_config: list | None) -> set[str]:
    """Profiles the station declares: PICS feature_profiles, else SupportedFeatureProfiles."""
    names: list[str] = []
    if isinstance(pics, dict) and isinstance(pics.get("feature_profiles"), list):
        names = [str(n) for n in pics["feature_profiles"]]
    elif isinstance(station_config, list):
        for item in station_config:
            if isinstance(item, dict) and item.get("key") == "SupportedFeatureProfiles":
                names = [n.strip() for n in str(item.get("value") or "").split(",")]
    out = set()
    for n in names:
        prof = PROFILE_BY_OCPP_NAME.get(n) or PROFILE_BY_NAME.get(n)
        if prof:
            out.add(prof.name)
    return out

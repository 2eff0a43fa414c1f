"""Named behaviour profiles: conformant but unusual ways a real station may behave.

The counterpart of the fault profiles (faults.py): a fault breaks the OCPP text and the cases
in its `affects` must FAIL; a behaviour is something the text allows that the default
simulator does not do, and the cases in its `passes` must still PASS with it
(tests/test_behaviours_station.py). `allowed_by` quotes the clause that permits it, so that a
bench check which fails such a station is shown to judge the simulator, not the text.

Add a behaviour: one Behaviour below, the station code behind `st.behaves(name)`, and the
cases it must pass. `bench sim --behaviour NAME`, `bench run --behaviour NAME` or the rig's
`[simulator] behaviours` switch it on; `bench sim --list-behaviours` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    description: str
    allowed_by: str  # the OCPP 1.6 clause (or OCTT case) that permits it
    passes: list[str] = field(default_factory=list)  # case ids that must PASS with it


_BEHAVIOURS = [
    Behaviour(
        "heartbeat_skips_and_queues",
        "idle, sends clock-aligned MeterValues of its main meter (connector 0) every "
        "ClockAlignedDataInterval and skips the Heartbeat those fall on; a Heartbeat that "
        "fell due while offline is sent at once on reconnect, and the cadence from before "
        "the cut is kept",
        "OCPP 1.6 §4.6: the Charge Point MAY skip a Heartbeat.req when another PDU was sent "
        "within the interval; §9.1 HeartbeatInterval is an interval of inactivity; nothing "
        "forbids an early Heartbeat; §9.1 ClockAlignedDataInterval is not tied to "
        "transactions and MeterValues connectorId 0 is the main meter",
        ["TC_001_CS", "TC_002_CS", "TC_035_CS"]),
    Behaviour(
        "authorize_remote_anyway",
        "with AuthorizeRemoteTxRequests=false it still sends Authorize for the idTag of a "
        "RemoteStartTransaction before it prepares the start (and starts whatever the answer: "
        "the CSMS judges the idTag from StartTransaction)",
        "OCPP 1.6 §5.11: with AuthorizeRemoteTxRequests=false the Charge Point starts at once "
        "and the Central System checks the idTag in StartTransaction; an Authorize is neither "
        "required nor forbidden",
        ["TC_010_CS", "TC_011_2_CS"]),
    Behaviour(
        "status_before_transaction_message",
        "sends StatusNotification(Charging) before StartTransaction and "
        "StatusNotification(Finishing) before StopTransaction (the transaction message waits "
        "until the status change is acknowledged)",
        "OCTT (TC_003, TC_012 and the reusable state Charging): StatusNotification(Charging) and "
        "StartTransaction, StatusNotification(Finishing) and StopTransaction may come in either "
        "order",
        ["TC_012_CS"]),
    Behaviour(
        "rejected_goes_offline",
        "after BootNotification Rejected it closes its websocket and connects again only when "
        "the retry interval is over, then boots again",
        "OCPP 1.6 §4.2.1: while Rejected the Charge Point may no longer be reachable; it MAY "
        "close its communication channel",
        ["TC_001_CS"]),
    Behaviour(
        "no_minimum_status_duration",
        "does not implement the optional key MinimumStatusDuration (GetConfiguration reports it "
        "in unknownKey; every status is sent at once)",
        "OCPP 1.6 §9.1: MinimumStatusDuration is optional",
        ["TC_023_1_CS"]),
    Behaviour(
        "pilot_fault_ground_failure",
        "reports a CP shorted to PE (IEC 61851-1 state E) as Faulted with errorCode "
        "GroundFailure instead of OtherError",
        "OCPP 1.6 ChargePointErrorCode has no pilot-fault code: GroundFailure (a fault to "
        "protective earth) and OtherError both describe it",
        ["TC_041_CS"]),
    Behaviour(
        "hard_reset_stops_after_reboot",
        "on Reset(Hard) it reboots at once; the open transaction is stopped after the reboot "
        "from non-volatile memory (StopTransaction reason HardReset after the BootNotification, "
        "the connector Finishing in the boot statuses)",
        "OCTT TC_015: the StopTransaction may come before or after the BootNotification; "
        "OCPP 1.6 §5.14 the hard reset only attempts to stop transactions first",
        ["TC_015_CS"]),
    Behaviour(
        "resumes_after_power_loss",
        "without back-up power, a transaction open when the mains went resumes after the power "
        "comes back (Charging in the boot statuses) until the driver stops it",
        "OCTT TC_032_2: if the Charge Point resumed the transaction, the driver stops it with "
        "the card that started it",
        ["TC_032_2_CS"]),
    Behaviour(
        "resends_meter_values_on_reconnect",
        "after a reconnection it sends the last MeterValues delivered before the connection "
        "went down once more, with the same payload, as when the answer to it was lost",
        "OCPP 1.6 §3.7: a transaction-related message the Central System did not answer is "
        "sent again (TransactionMessageAttempts); a resend is not a sample out of order",
        ["TC_036_CS"]),
    Behaviour(
        "remote_start_connector0_callerror",
        "answers RemoteStartTransaction(connectorId 0) with a CALLERROR "
        "(PropertyConstraintViolation) instead of Rejected",
        "OCTT TC_027: connectorId 0 is answered Rejected or with a CALLERROR; OCPP-J 1.6 "
        "§4.2.3: PropertyConstraintViolation for a field with an invalid value",
        ["TC_027_CS"]),
    Behaviour(
        "lock_opens_late",
        "socket: its lock opens StationConfig.lock_release_delay_s (default 1 s) after the "
        "station decided to let the cable go (the EV end left with "
        "UnlockConnectorOnEVSideDisconnect=true, a session ended), as a slow lock motor does",
        "OCPP 1.6 §9.1 UnlockConnectorOnEVSideDisconnect and §5.18 set no time for the lock to "
        "open; the cable stays locked meanwhile",
        ["TC_005_1_CS"]),
    Behaviour(
        "stop_reason_local_omitted",
        "leaves the reason out of a StopTransaction that ends normally (the driver's card)",
        "OCPP 1.6 §4.10: for a transaction ended normally the Reason MAY be omitted and is "
        "then assumed Local",
        ["TC_038_CS"]),
    # Firmware Management (firmware.py); proven by tests/test_faults_firmware.py
    Behaviour(
        "installed_before_reboot",
        "after installing a firmware image sends FirmwareStatusNotification Installed first, "
        "then reboots (the default reboots first and reports Installed after the boot)",
        "OCPP 1.6 §4.5/§5.19 order no reboot against Installed; OCTT TC_044_1 shows one order",
        ["TC_044_1_CS"]),
    Behaviour(
        "reboots_before_installation_failed",
        "a corrupt firmware image: reboots after Installing (with the old firmware) and "
        "reports InstallationFailed after the boot",
        "OCTT TC_044_3: Downloading, Downloaded, Installing, (reboot), InstallationFailed",
        ["TC_044_3_CS"]),
    Behaviour(
        "downloading_per_retry",
        "sends FirmwareStatusNotification Downloading again before each download retry",
        "OCPP 1.6 §5.19: the station keeps the CSMS informed during the download; nothing "
        "forbids a repeated Downloading",
        ["TC_044_2_CS"]),
    Behaviour(
        "diagnostics_zip",
        "packs its diagnostics as a zip file (fileName ...zip) instead of a tar.gz",
        "OCPP 1.6 §5.9/§6.23: the format of the diagnostics file is the station's",
        ["TC_045_1_CS"]),
    # Smart Charging (needs smart_charging = true in the station config)
    Behaviour(
        "smart_refusals_as_callerror",
        "answers a TxProfile without a transaction on its connector, and a "
        "RemoteStartTransaction whose chargingProfile is not a TxProfile, with CALLERROR "
        "PropertyConstraintViolation instead of Rejected",
        "OCTT TC_058_1 and TC_060 accept Rejected or CALLERROR PropertyConstraintViolation; "
        "OCPP-J 1.6 §4.2.3: PropertyConstraintViolation for a field with an invalid value",
        ["TC_058_1_CS", "TC_060_CS"]),
    Behaviour(
        "composite_in_minute_slots",
        "reports GetCompositeSchedule in periods of at most 60 s: a long stretch of one limit "
        "comes as several periods of the same limit",
        "OCPP 1.6 §7.13: chargingSchedulePeriod is a list of periods, each in force until the "
        "next; nothing asks for the fewest",
        ["TC_066_CS", "TC_072_CS"]),
    Behaviour(
        "limit_with_margin",
        "regulates its output to 90 % of the limit in force (a safety margin)",
        "OCPP 1.6 §3.13: a charging schedule sets limits, the maximum the Charge Point may "
        "draw; drawing less is allowed",
        ["TC_082_CS"]),
    # Security whitepaper (station config security_whitepaper = true)
    Behaviour(
        "hash_data_sha512",
        "lists its installed certificates (GetInstalledCertificateIds) with SHA512 hash data",
        "Security whitepaper, CertificateHashDataType: hashAlgorithm SHA256, SHA384 or SHA512, "
        "the station's choice",
        ["TC_075_1_CS", "TC_075_2_CS"]),
    Behaviour(
        "firmware_without_install_rebooting",
        "installs a signed firmware and reboots without sending InstallRebooting first",
        "Security whitepaper, FirmwareStatusEnumType: InstallRebooting is one status of the "
        "enum, no use case makes it mandatory before the reboot",
        ["TC_080_CS"]),
    Behaviour(
        "local_list_off_callerror",
        "with LocalAuthListEnabled=false answers GetLocalListVersion and SendLocalList with a "
        "CALLERROR NotSupported instead of listVersion -1 / status NotSupported",
        "OCTT TC_042_1 and TC_043_1 accept a CALLERROR NotSupported; OCPP-J 1.6 §4.2.3: "
        "NotSupported, the action is recognized but not supported",
        ["TC_042_1_CS", "TC_043_1_CS"]),
    Behaviour(
        "reserved_tag_not_authorized",
        "the idTag of a reservation starts on it without an Authorize (the CSMS gave it)",
        "OCTT TC_046_1: the Authorize of the reserved idTag is optional; OCPP 1.6 §5.13 "
        "requires none",
        ["TC_046_1_CS"]),
]

BEHAVIOURS: dict[str, Behaviour] = {b.name: b for b in _BEHAVIOURS}


def check_behaviour_names(names: set[str] | list[str]) -> set[str]:
    """The given names as a set; an unknown name raises ValueError listing the known ones."""
    unknown = sorted(set(names) - BEHAVIOURS.keys())
    if unknown:
        raise ValueError(f"unknown station behaviour profile(s) {unknown}; known: "
                         f"{sorted(BEHAVIOURS)}")
    return set(names)


def format_behaviours() -> str:
    """One line per behaviour: name, what the station does, the cases that must pass."""
    width = max(len(n) for n in BEHAVIOURS)
    return "\n".join(
        f"{b.name:<{width}}  {b.description} [must pass: {', '.join(b.passes)}; allowed by "
        f"{b.allowed_by}]" for b in BEHAVIOURS.values())

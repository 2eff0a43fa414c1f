"""Named fault profiles: documented non-conformances the bench's test cases must catch.

Each profile changes one behaviour of the simulated station. `affects` lists the OCTT case
ids (or the configuration-key check of OCPP 1.6 §9.1, docs/checks.md) that should turn FAIL
with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    description: str
    affects: list[str] = field(default_factory=list)


_FAULTS = [
    # socket outlets (StationConfig.fixed_cable = false; sim/station/outlet.py)
    Fault("lock_failure_unreported",
          "ignores its lock feedback: a half-inserted plug whose lock pin cannot engage gets "
          "no ConnectorLockFailure and the session starts on the unlocked cable",
          ["TC_024_CS"]),
    Fault("unlock_ignores_lock",
          "answers UnlockConnector Unlocked without reading the lock feedback, also when the "
          "pin stays engaged",
          ["TC_030_CS"]),
    Fault("socket_cable_unseen",
          "judges its socket by the EV end alone: Available while the cable is still in the "
          "socket after an EV-side unplug (OCPP 1.6 ChargePointStatus: Finishing until it is "
          "taken out)",
          ["TC_005_1_CS"]),
    Fault("unlock_not_supported",
          "answers UnlockConnector NotSupported although it has a socket with a lock",
          ["TC_017_1_CS"]),
    Fault("unlock_keeps_transaction",
          "UnlockConnector during a session answers Unlocked but does not stop the transaction",
          ["TC_018_1_CS"]),
    Fault("late_remote_start",
          "answers RemoteStartTransaction only after StationConfig.late_remote_start_s "
          "(default 12 s), beyond the PICS response time of 10 s",
          ["TC_010_CS", "TC_011_1_CS", "PERF_RemoteStartTransaction"]),
    Fault("meter_interval_12s",
          "sends sampled MeterValues every 1.2 x MeterValueSampleInterval",
          ["TC_070_CS", "TC_036_CS"]),
    Fault("clock_aligned_off_boundary",
          "Sample.Clock MeterValues are stamped half an interval off the wall-clock boundary",
          ["TC_071_CS"]),
    Fault("no_connector0_status",
          "sends no StatusNotification for connectorId 0 at boot",
          ["TC_001_CS", "TC_002_CS", "TC_013_CS", "TC_034_CS"]),
    Fault("wrong_stop_reason",
          "every StopTransaction carries reason Local (e.g. Local instead of Remote)",
          ["TC_012_CS", "TC_005_2_CS", "TC_015_CS", "TC_016_CS", "TC_037_3_CS"]),
    Fault("invalid_boot_notification",
          "BootNotification payload is schema-invalid (chargePointVendor longer than 20 chars)",
          ["TC_001_CS", "TC_002_CS"]),
    Fault("availability_not_persisted",
          "ChangeAvailability is applied but forgotten at reboot and power loss",
          ["TC_013_CS", "TC_014_CS", "TC_034_CS"]),
    Fault("no_transaction_retry",
          "a transaction message answered with CALLERROR or not at all is dropped, never resent",
          ["KEY_TransactionMessageAttempts", "KEY_TransactionMessageRetryInterval",
           "BENCH_TX_RETRY"]),
    Fault("queued_out_of_order",
          "transaction messages queued while offline are sent newest first after reconnect",
          ["TC_036_CS", "TC_039_CS"]),
    Fault("no_authorize_after_clear_cache",
          "ClearCache is answered Accepted but the cache is kept: a cached tag starts without "
          "Authorize (needs authorization_cache = true)",
          ["TC_061_CS"]),
    Fault("heartbeat_wrong_interval",
          "heartbeats every 1.5 x HeartbeatInterval instead of the interval",
          ["TC_001_CS", "TC_002_CS", "TC_035_CS"]),
    Fault("remote_start_ignores_authorize",
          "RemoteStartTransaction starts without Authorize although AuthorizeRemoteTxRequests=true",
          ["TC_010_CS", "TC_011_1_CS"]),
    Fault("connection_timeout_ignored",
          "an authorized connector without a plug stays Preparing after ConnectionTimeOut",
          ["TC_004_2_CS", "TC_011_2_CS"]),
    Fault("stop_on_other_tag",
          "any accepted card stops a running transaction, whatever its parentIdTag",
          ["TC_068_CS"]),
    Fault("unknown_key_accepted",
          "ChangeConfiguration of an unknown key is answered Accepted instead of NotSupported",
          ["TC_040_1_CS"]),
    Fault("invalid_value_accepted",
          "ChangeConfiguration with an out-of-range value (e.g. -1) is answered Accepted",
          ["TC_040_2_CS"]),
    Fault("no_soft_reset_reason",
          "a soft reset stops the transaction without a reason (read as Local) instead of "
          "SoftReset",
          ["TC_016_CS"]),
    Fault("remote_start_busy_accepted",
          "RemoteStartTransaction on a connector with a running transaction is Accepted",
          ["TC_026_CS"]),
    Fault("ev_disconnect_always_stops",
          "unplugging at the EV stops the transaction even with StopTransactionOnEVSideDisconnect"
          "=false",
          ["TC_005_3_CS"]),
    Fault("timestamps_without_milliseconds",
          "every timestamp it sends is in whole seconds although the SmartDC declares "
          "sending milliseconds ([pics] sends_milliseconds = true)",
          ["TC_001_CS", "PICS_sends_milliseconds"]),
    Fault("clock_ahead",
          "the station's clock runs StationConfig.clock_skew_s (default 10 s) ahead of UTC and "
          "is never set from BootNotification/Heartbeat currentTime: every timestamp it sends",
          ["TC_001_CS", "TC_002_CS", "TC_003_CS", "TC_004_1_CS"]),
    Fault("energy_register_high",
          "the energy register counts StationConfig.energy_register_gain (default 1.05, 5 %) "
          "high: meterStart/meterStop and Energy.Active.Import.Register",
          ["TC_070_CS", "TC_071_CS", "SOAK_CHARGING"]),
    Fault("clock_aligned_late",
          "Sample.Clock MeterValues are sent and stamped 40 % of ClockAlignedDataInterval "
          "after the aligned instant (4 s at 10 s: inside a 4 s station-clock deviation)",
          ["TC_071_CS"]),
    Fault("contactor_stays_closed",
          "after a transaction ends the contactor stays closed and current keeps flowing "
          "until the EV is unplugged",
          ["TC_012_CS"]),
    # FirmwareManagement (firmware.py)
    Fault("firmware_version_not_updated",
          "after installing a firmware image and rebooting, BootNotification still carries "
          "the old firmwareVersion",
          ["TC_044_1_CS"]),
    Fault("downloaded_before_download",
          "reports Downloaded before it has fetched the image, then fetches and installs it "
          "(the download starts 3 s later)",
          ["TC_044_1_CS", "TC_044_2_CS", "TC_044_3_CS"]),  # every update
    Fault("download_failure_silent",
          "a firmware download that fails on every attempt is never reported DownloadFailed",
          ["TC_044_2_CS"]),
    Fault("image_not_verified",
          "installs a firmware image without checking its digest: a corrupt image is "
          "Installed instead of InstallationFailed",
          ["TC_044_3_CS"]),
    Fault("diagnostics_empty",
          "GetDiagnostics uploads an empty file and reports it Uploaded",
          ["TC_045_1_CS"]),
    Fault("upload_failure_reported_uploaded",
          "a diagnostics upload that failed on every attempt is reported Uploaded",
          ["TC_045_2_CS"]),
    Fault("retry_without_interval",
          "retries a failed firmware download or diagnostics upload at once, without waiting "
          "the retryInterval of UpdateFirmware / GetDiagnostics",
          ["TC_044_2_CS", "TC_045_2_CS"]),
    # RemoteTrigger (trigger.py)
    Fault("trigger_status_not_sent",
          "TriggerMessage(StatusNotification) is answered Accepted but no StatusNotification "
          "follows",
          ["TC_054_CS"]),
    Fault("trigger_unknown_connector_accepted",
          "TriggerMessage for a connectorId the station does not have is Accepted instead of "
          "Rejected",
          ["TC_055_CS"]),
    # Smart Charging (needs smart_charging = true in the station config)
    Fault("limit_not_applied",
          "SetChargingProfile is answered Accepted and GetCompositeSchedule shows the limit, "
          "but the output keeps the station maximum: the EV draws what it asks for",
          ["TC_056_CS", "TC_057_CS", "TC_059_CS", "TC_082_CS"]),
    Fault("composite_ignores_stack_level",
          "of the profiles of one purpose the first installed that limits prevails, whatever "
          "its stackLevel (in the composite schedule and the output)",
          ["TC_072_CS", "TC_066_CS"]),
    Fault("tx_profile_other_transaction_accepted",
          "a TxProfile whose transactionId is not the connector's transaction is Accepted "
          "(and applied to the running one)",
          ["TC_058_2_CS"]),
    Fault("tx_profile_without_transaction_accepted",
          "a TxProfile for a connector without a transaction is Accepted (and kept for none)",
          ["TC_058_1_CS"]),
    Fault("remote_start_any_profile_accepted",
          "RemoteStartTransaction with a chargingProfile of any purpose is Accepted and starts",
          ["TC_060_CS"]),
    Fault("clear_profile_kept",
          "ClearChargingProfile is answered Accepted but the profile stays installed",
          ["TC_067_CS"]),
    # Security whitepaper (station config security_whitepaper = true)
    Fault("password_not_applied",
          "ChangeConfiguration(AuthorizationKey) is Accepted and the station reconnects, but "
          "still with the old password",
          ["TC_073_CS"]),
    Fault("csr_short_key",
          "the CSR of SignCertificate carries a 1024-bit RSA key (below 2048)",
          ["TC_074_CS"]),
    Fault("keeps_old_certificate",
          "at profile 3, accepts CertificateSigned and reconnects, but with its old client "
          "certificate",
          ["TC_074_CS"]),
    Fault("invalid_certificate_accepted",
          "InstallCertificate and CertificateSigned accept an invalid certificate (foreign, "
          "expired, not a CA) without a SecurityEventNotification",
          ["TC_077_CS", "TC_078_CS"]),
    Fault("delete_sha256_only",
          "DeleteCertificate finds a certificate only by SHA256 hash data; SHA384 and SHA512 "
          "are answered NotFound",
          ["TC_076_CS"]),
    Fault("security_log_not_uploaded",
          "GetLog(SecurityLog) reports Uploading and Uploaded but no file reaches the server",
          ["TC_079_CS"]),
    Fault("bad_signature_installed",
          "a signed firmware whose signature does not verify is installed anyway "
          "(SignatureVerified), no InvalidSignature, no security event",
          ["TC_081_CS"]),
    Fault("no_security_events",
          "security events are logged but no SecurityEventNotification is ever sent",
          ["TC_077_CS", "TC_078_CS", "TC_081_CS"]),
    Fault("falls_back_to_lower_profile",
          "raised to security profile 2, it goes back to its plain profile-1 connection when a "
          "TLS connection fails",
          ["TC_083_CS"]),
    Fault("accepts_lower_profile",
          "ChangeConfiguration(SecurityProfile) to a lower profile is Accepted",
          ["TC_084_CS"]),
    # Local Authorization List Management (sim/station/localauth.py)
    Fault("local_list_ignored",
          "the local list is stored and its version reported, but never consulted: a listed "
          "card is sent to the CSMS in an Authorize",
          ["TC_008_CS", "TC_043_CS"]),
    Fault("version_mismatch_accepted",
          "a Differential SendLocalList whose listVersion is not newer than the list held is "
          "applied and answered Accepted instead of VersionMismatch",
          ["TC_043_2_CS"]),
    Fault("differential_replaces_list",
          "a Differential SendLocalList replaces the whole list as a Full one would: the "
          "entries it does not name are lost",
          ["TC_043_CS"]),
    Fault("differential_ignores_removal",
          "a Differential SendLocalList entry without idTagInfo is ignored instead of removing "
          "the idTag: it stays listed",
          ["TC_043_CS"]),
    Fault("empty_list_reports_version",
          "GetLocalListVersion of an empty list answers the version it came with instead of 0",
          ["TC_042_2_CS"]),
    # Reservation (sim/station/reservation.py)
    Fault("reservation_other_tag_starts",
          "a reserved connector reports Reserved but lets any accepted card start on it",
          ["TC_046_1_CS", "TC_049_CS"]),
    Fault("start_without_reservation_id",
          "a transaction started on a reservation leaves reservationId out of "
          "StartTransaction",
          ["TC_046_1_CS", "TC_046_2_CS", "TC_049_CS", "TC_053_CS"]),
    Fault("reservation_never_expires",
          "a reservation is kept past its expiryDate: the connector stays Reserved",
          ["TC_047_CS"]),
    Fault("reserve_occupied_accepted",
          "ReserveNow on a connector with an EV plugged in is Accepted instead of Occupied",
          ["TC_048_2_CS"]),
    Fault("reservation_ignores_parent",
          "a reservation with a parentIdTag is only usable by its own idTag: another idTag of "
          "that group is refused there",
          ["TC_053_CS"]),
    Fault("cancel_keeps_reservation",
          "CancelReservation is answered Accepted but the reservation is kept: the connector "
          "stays Reserved until the expiryDate",
          ["TC_051_CS"]),
    Fault("cancel_unknown_accepted",
          "CancelReservation of a reservationId the station does not hold is Accepted "
          "instead of Rejected",
          ["TC_052_CS"]),
    Fault("basic_user_not_identity_on_reconnect",
          "the first attempt after a lost connection sends HTTP Basic with its serial number as "
          "the user name instead of its charge point identity",
          ["TC_085_CS"]),
    Fault("accepts_any_server_certificate",
          "over TLS it does not verify the CSMS certificate: any server certificate is accepted",
          ["TC_086_CS"]),
    Fault("no_client_certificate_on_reconnect",
          "at profile 3, the first TLS attempt after a lost connection presents no client "
          "certificate",
          ["TC_087_CS"]),
    Fault("no_subprotocol_on_reconnect",
          "the first attempt after a lost connection offers no Sec-WebSocket-Protocol "
          "(no ocpp1.6)",
          ["TC_088_CS"]),
]

FAULTS: dict[str, Fault] = {f.name: f for f in _FAULTS}


def check_fault_names(names: set[str] | list[str]) -> set[str]:
    """The given names as a set; an unknown name raises ValueError listing the known ones."""
    unknown = sorted(set(names) - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown station fault profile(s) {unknown}; known: {sorted(FAULTS)}")
    return set(names)


def format_faults() -> str:
    """One line per fault: name, what goes wrong, the cases that should catch it."""
    width = max(len(n) for n in FAULTS)
    return "\n".join(
        f"{f.name:<{width}}  {f.description} [{', '.join(f.affects)}]" for f in FAULTS.values()
    )


def print_faults() -> None:
    print(format_faults())

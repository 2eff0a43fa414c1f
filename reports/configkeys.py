"""The standard configuration keys of OCPP 1.6 (edition 2, §9), in the order of the
certificate's "OCPP Charging Station Configuration" table: Core, then Local Auth List
Management, Reservation, Smart Charging and the file transfer protocols.

The certificate lists every one of them and writes "Not Applicable - NA" for a key the station
does not have; the report does the same.
"""

from __future__ import annotations

NOT_APPLICABLE = "Not Applicable - NA"

STANDARD_KEYS: tuple[tuple[str, str], ...] = tuple(
    (key, profile) for profile, keys in (
        ("Core", (
            "AllowOfflineTxForUnknownId", "AuthorizationCacheEnabled",
            "AuthorizeRemoteTxRequests", "BlinkRepeat", "ClockAlignedDataInterval",
            "ConnectionTimeOut", "ConnectorPhaseRotation", "ConnectorPhaseRotationMaxLength",
            "GetConfigurationMaxKeys", "HeartbeatInterval", "LightIntensity",
            "LocalAuthorizeOffline", "LocalPreAuthorize", "MaxEnergyOnInvalidId",
            "MeterValuesAlignedData", "MeterValuesAlignedDataMaxLength",
            "MeterValuesSampledData", "MeterValuesSampledDataMaxLength",
            "MeterValueSampleInterval", "MinimumStatusDuration", "NumberOfConnectors",
            "ResetRetries", "StopTransactionOnEVSideDisconnect", "StopTransactionOnInvalidId",
            "StopTxnAlignedData", "StopTxnAlignedDataMaxLength", "StopTxnSampledData",
            "StopTxnSampledDataMaxLength", "SupportedFeatureProfiles",
            "SupportedFeatureProfilesMaxLength", "TransactionMessageAttempts",
            "TransactionMessageRetryInterval", "UnlockConnectorOnEVSideDisconnect",
            "WebSocketPingInterval")),
        ("LocalAuthListManagement", (
            "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength")),
        ("Reservation", ("ReserveConnectorZeroSupported",)),
        ("SmartCharging", (
            "ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit",
            "ChargingScheduleMaxPeriods", "ConnectorSwitch3to1PhaseSupported",
            "MaxChargingProfilesInstalled")),
        ("FirmwareManagement", ("SupportedFileTransferProtocols",)),
    ) for key in keys)
STANDARD_ORDER = {key: i for i, (key, _) in enumerate(STANDARD_KEYS)}
PROFILE_OF_KEY = dict(STANDARD_KEYS)

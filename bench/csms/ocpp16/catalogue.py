"""The OCPP 1.6-J message catalogue: the subprotocol, who sends which action, the error codes."""

from __future__ import annotations

SUBPROTOCOL = "ocpp1.6"

# Actions a station (charge point) initiates in OCPP 1.6 (Core and the other feature profiles).
STATION_ACTIONS = frozenset({
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
    "StatusNotification", "StopTransaction",
    # Security whitepaper extensions (schemas shipped in the ocpp package too; docs/security.md)
    "LogStatusNotification", "SecurityEventNotification", "SignCertificate",
    "SignedFirmwareStatusNotification",
})

# OCPP-J 1.6 CALLERROR codes (section 4.2.3), with the 1.6 spellings.
ERROR_CODES = frozenset({
    "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
    "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
    "TypeConstraintViolation", "GenericError",
})

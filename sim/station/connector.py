"""Per-connector state of the station and the status it implies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VALID_ERROR_CODES = {
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
    "InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
    "OverVoltage", "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure",
    "UnderVoltage", "WeakSignal",
}


@dataclass(slots=True)
class Transaction:
    """A transaction as the station knows it; `id` arrives with StartTransaction.conf."""

    local_id: int
    connector: int
    id_tag: str
    meter_start: int
    started_iso: str
    started_mono: float
    parent_id_tag: str | None = None
    id: int | None = None
    deauthorized: bool = False  # StartTx.conf not Accepted, StopTransactionOnInvalidId=false
    stopping: bool = False
    stop_data: list[dict[str, Any]] = field(default_factory=list)  # StopTxn*Data samples
    reservation_id: int | None = None  # the reservation it started on (StartTransaction)

    def as_store(self) -> dict[str, Any]:
        return {"local_id": self.local_id, "connector": self.connector, "id_tag": self.id_tag,
                "meter_start": self.meter_start, "started_iso": self.started_iso,
                "id": self.id, "parent_id_tag": self.parent_id_tag,
                "reservation_id": self.reservation_id}


@dataclass(slots=True)
class PendingStart:
    """Identification done (card or remote start), waiting for the plug (ConnectionTimeOut)."""

    id_tag: str
    parent_id_tag: str | None
    since_mono: float
    remote: bool = False
    charging_profile: dict[str, Any] | None = None  # RemoteStart's TxProfile (Smart Charging)
    reservation_id: int | None = None  # the reservation this start uses


@dataclass(slots=True)
class ConnectorState:
    number: int
    operative: bool = True  # ChangeAvailability result in force
    scheduled_operative: bool | None = None  # to apply when the transaction ends
    pending: PendingStart | None = None
    tx: Transaction | None = None
    finishing: bool = False  # transaction ended, EV still plugged
    was_plugged: bool = False
    hold_lock: bool = False  # socket: kept locked after an EV-side unplug until UnlockConnector
    lock_failure: bool = False  # socket: the lock pin did not engage (ConnectorLockFailure)
    unlock_due: float | None = None  # socket, behaviour lock_opens_late: when the lock opens
    reserved: bool = False  # held by a reservation (sim/station/reservation.py)
    status_sent: str | None = None  # last status queued for sending
    status_confirmed: str | None = None  # last status the CSMS acknowledged
    error_sent: str = "NoError"


def derive_status(c: ConnectorState, phys: Any, mains_on: bool = True,
                  pilot_fault_code: str = "OtherError",
                  occupied: bool | None = None) -> tuple[str, str]:
    """(status, errorCode) the connector is in, from its state and the physics.
    pilot_fault_code: the errorCode of a CP shorted to PE (behaviour pilot_fault_ground_failure);
    occupied: something is plugged as the station sees it (default: the EV's plug)."""
    fault = getattr(phys, "fault", None)
    if fault:
        return "Faulted", fault if fault in VALID_ERROR_CODES else "OtherError"
    if c.lock_failure:
        return "Faulted", "ConnectorLockFailure"
    if str(getattr(phys, "cp_state", "A")) == "E" and mains_on:  # mains off: no generator
        # the station measures 0 V on its own CP generator: CP shorted to PE (IEC 61851-1
        # state E), a hardware fault of the pilot circuit; no dedicated OCPP 1.6 errorCode
        return "Faulted", pilot_fault_code
    ev_letter = str(getattr(phys, "cp_state", "A"))[:1]
    if c.tx is not None:
        if c.tx.deauthorized:
            return "SuspendedEVSE", "NoError"
        ready = (phys.plugged and ev_letter in "CD" and phys.allow_power and not phys.pause
                 and not getattr(phys, "stop_request", False))
        return ("Charging" if ready else "SuspendedEV"), "NoError"
    if not c.operative:
        return "Unavailable", "NoError"
    present = phys.plugged if occupied is None else occupied
    if c.finishing and present:
        return "Finishing", "NoError"
    if c.reserved and not present and c.pending is None:
        return "Reserved", "NoError"
    if present or c.pending is not None:
        return "Preparing", "NoError"
    return "Available", "NoError"

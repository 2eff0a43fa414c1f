"""Remote Trigger of the simulated station (OCPP 1.6 §5.17 TriggerMessage).

The answer goes first, then the requested message. connectorId matters for MeterValues and
StatusNotification (absent: every connector; StatusNotification also the Charge Point, 0);
a connectorId the station does not have is Rejected. Firmware and diagnostics notifications
need the FirmwareManagement profile: without it they are NotImplemented. A triggered
notification of an idle function reports Idle (§4.4, §4.5 as the errata give it); MeterValues
carry context Trigger.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sim.station.link import CallTimeout, LinkDown, PeerError
from sim.station.meter import iso_utc, measurand_list, meter_value

if TYPE_CHECKING:
    from sim.station.station import StationSimulator

log = logging.getLogger(__name__)

PROFILE = "RemoteTrigger"
PER_CONNECTOR = ("MeterValues", "StatusNotification")
NEEDS_FIRMWARE = ("DiagnosticsStatusNotification", "FirmwareStatusNotification")


class Trigger:
    def __init__(self, station: StationSimulator) -> None:
        self.st = station

    @property
    def enabled(self) -> bool:
        profiles = [p.strip() for p in self.st.key("SupportedFeatureProfiles").split(",")]
        return PROFILE in profiles

    async def trigger_message(self, p: dict) -> dict:
        what, n = p["requestedMessage"], p.get("connectorId")
        if what in NEEDS_FIRMWARE and not self.st.firmware.enabled:
            return {"status": "NotImplemented"}
        if n is not None and n not in self.st.connectors \
                and not (n == 0 and what == "StatusNotification") \
                and not self.st.fault("trigger_unknown_connector_accepted"):
            return {"status": "Rejected"}
        if what == "StatusNotification" and self.st.fault("trigger_status_not_sent"):
            return {"status": "Accepted"}
        self.st.spawn(self._send(what, n))
        return {"status": "Accepted"}

    async def _send(self, what: str, n: int | None) -> None:
        await asyncio.sleep(0)  # the answer first
        link = self.st.link
        if link is None or not self.st.online:
            return
        targets = [n] if n is not None else list(self.st.connectors)
        try:
            if what == "BootNotification":
                await link.call("BootNotification", self.st.boot_payload())
            elif what == "Heartbeat":
                await link.call("Heartbeat", {})
            elif what == "FirmwareStatusNotification":
                await link.call(what, {"status": self.st.firmware.firmware_status})
            elif what == "DiagnosticsStatusNotification":
                await link.call(what, {"status": self.st.firmware.diagnostics_status})
            elif what == "StatusNotification":
                await self._statuses(link, targets if n is not None else [0, *targets])
            elif what == "MeterValues":
                await self._meter_values(link, [t for t in targets if t in self.st.connectors])
        except (LinkDown, CallTimeout, PeerError) as exc:
            log.warning("station: triggered %s not delivered: %s", what, exc)

    async def _statuses(self, link, numbers: list[int]) -> None:
        for number in numbers:
            if number == 0:
                status, error = self.st._station_status(), "NoError"
            else:
                status, error = self.st._derived(self.st.connectors[number])
            await link.call("StatusNotification", {"connectorId": number, "errorCode": error,
                                                   "status": status,
                                                   "timestamp": iso_utc(self.st.clock())})

    async def _meter_values(self, link, numbers: list[int]) -> None:
        for number in numbers:
            c = self.st.connectors[number]
            phys = self.st.model.connector(number)
            mv = meter_value(phys, measurand_list(self.st.key("MeterValuesSampledData")),
                             "Trigger", self.st.clock(), self.st._energy_gain())
            payload: dict = {"connectorId": number, "meterValue": [mv]}
            if c.tx is not None and c.tx.id is not None:
                payload["transactionId"] = c.tx.id
            await link.call("MeterValues", payload)

"""The CSMS's CALLs to the station (Core profile) and their answers."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sim.station.ocppj import CallError, check_payload, has_schema

if TYPE_CHECKING:
    from sim.station.station import StationSimulator

log = logging.getLogger(__name__)

KNOWN_VENDORS = ("Flo",)


class CsmsCalls:
    def __init__(self, station: StationSimulator) -> None:
        self.st = station
        self._handlers = {
            "ChangeAvailability": self.change_availability,
            "ChangeConfiguration": self.change_configuration,
            "ClearCache": self.clear_cache,
            "DataTransfer": self.data_transfer,
            "GetConfiguration": self.get_configuration,
            "RemoteStartTransaction": self.remote_start,
            "RemoteStopTransaction": self.remote_stop,
            "Reset": self.reset,
            "UnlockConnector": self.unlock_connector,
            **station.local_list.handlers(), **station.reservations.handlers(),
        }
        if station.cfg.smart_charging:
            self._handlers.update(station.smart.handlers())
        if station.whitepaper is not None:
            self._handlers.update(station.whitepaper.handlers())

    async def handle(self, action: str, payload: Any) -> dict | None:
        if self.st.boot_status == "Rejected":
            return None  # a rejected station does not serve the CSMS
        handler = self._handlers.get(action) or self._profile_handlers().get(action)
        if handler is None:
            if has_schema(action):
                raise CallError("NotSupported", f"{action} is not in the Core profile")
            raise CallError("NotImplemented", f"unknown action {action!r}")
        check_payload(action, payload)
        return await handler(payload)

    def _profile_handlers(self) -> dict:
        """CALLs of the optional profiles the station declares (SupportedFeatureProfiles)."""
        out = dict(self.st.firmware.handlers()) if self.st.firmware.enabled else {}
        if self.st.trigger.enabled:
            out["TriggerMessage"] = self.st.trigger.trigger_message
        return out

    def _connector(self, n: int):
        return self.st.connectors.get(n)

    async def change_availability(self, p: dict) -> dict:
        n, operative = p["connectorId"], p["type"] == "Operative"
        if n != 0 and n not in self.st.connectors:
            return {"status": "Rejected"}
        targets = list(self.st.connectors.values()) if n == 0 else [self.st.connectors[n]]
        scheduled = False
        for c in targets:
            if c.tx is not None and c.operative != operative:
                c.scheduled_operative, scheduled = operative, True
            else:
                c.operative, c.scheduled_operative = operative, None
        if n == 0:
            self.st.station_operative = operative
        if not self.st.fault("availability_not_persisted"):
            stored = self.st.store.get("availability", {})
            for c in targets:
                stored[str(c.number)] = operative
            if n == 0:
                stored["0"] = operative
            self.st.store.put("availability", stored)
        return {"status": "Scheduled" if scheduled else "Accepted"}

    async def change_configuration(self, p: dict) -> dict:
        name, value = p["key"], p["value"]
        if self.st.whitepaper is not None:
            answer = self.st.whitepaper.change_configuration(name, value)
            if answer is not None:
                return answer
        spec = self.st.keys.get(name)
        if spec is None:
            return {"status": "Accepted" if self.st.fault("unknown_key_accepted")
                    else "NotSupported"}
        if spec.readonly:
            return {"status": "Rejected"}
        if not spec.valid(value) and not self.st.fault("invalid_value_accepted"):
            return {"status": "Rejected"}
        if spec.kind == "bool":
            value = value.strip().lower()
        self.st.set_key(name, value)
        return {"status": "RebootRequired" if spec.reboot_required else "Accepted"}

    async def get_configuration(self, p: dict) -> dict:
        wanted = p.get("key")
        keys = self.st.keys
        if not wanted:
            found = list(keys.values())
            unknown: list[str] = []
        else:
            limit = self.st.key_int("GetConfigurationMaxKeys", 256)
            wanted = wanted[:limit] if limit > 0 else wanted
            found = [keys[k] for k in wanted if k in keys]
            unknown = [k for k in wanted if k not in keys]
        answer: dict[str, Any] = {"configurationKey": [
            {"key": k.name, "readonly": k.readonly, "value": k.value[:500]} for k in found]}
        if unknown:
            answer["unknownKey"] = unknown
        return answer

    async def clear_cache(self, p: dict) -> dict:
        if not self.st.cfg.authorization_cache:
            return {"status": "Rejected"}
        if not self.st.fault("no_authorize_after_clear_cache"):
            self.st.clear_cache()
        return {"status": "Accepted"}

    async def data_transfer(self, p: dict) -> dict:
        if p["vendorId"] not in KNOWN_VENDORS:
            return {"status": "UnknownVendorId"}
        return {"status": "UnknownMessageId"}

    async def remote_start(self, p: dict) -> dict:
        if self.st.fault("late_remote_start"):
            await self.st.sleep(self.st.cfg.late_remote_start_s)
        n = p.get("connectorId")
        if n == 0 and self.st.behaves("remote_start_connector0_callerror"):
            raise CallError("PropertyConstraintViolation",
                            "connectorId 0 is the Charge Point, not a connector")
        if n is None:
            target = self.st.free_connector()
        else:
            target = self._connector(n)  # 0 or unknown -> None -> Rejected (TC_027)
        if target is None:
            return {"status": "Rejected"}
        profile = p.get("chargingProfile") if self.st.cfg.smart_charging else None
        if self.st.smart.remote_start_profile_refused(profile):
            return {"status": "Rejected"}  # §5.11: only a TxProfile (TC_060)
        claim = self.st.reservations.claim(p["idTag"], None, target.number)
        busy = not self.st.is_free(target) and claim is None  # reserved for another: busy
        if busy and not self.st.fault("remote_start_busy_accepted"):
            return {"status": "Rejected"}
        if not busy:
            self.st.spawn(self._remote_start_flow(target, p["idTag"], profile,
                                                  claim.reservation_id if claim else None))
        return {"status": "Accepted"}

    async def _remote_start_flow(self, target, id_tag: str, profile: dict | None = None,
                                 reservation_id: int | None = None) -> None:
        from sim.station.connector import PendingStart

        await asyncio.sleep(0)  # let the answer go out first
        parent = None
        if (self.st.key_bool("AuthorizeRemoteTxRequests")
                and not self.st.fault("remote_start_ignores_authorize")):
            info = await self.st.authorize(id_tag)
            if info.get("status") != "Accepted":
                log.info("station: remote start for %s not authorized", id_tag)
                return
            parent = info.get("parentIdTag")
        elif self.st.behaves("authorize_remote_anyway"):
            # asks although the key says not to; starts whatever the answer (§5.11: the CSMS
            # judges the idTag from StartTransaction)
            parent = (await self.st.authorize(id_tag)).get("parentIdTag")
        if self.st.is_free(target) or reservation_id is not None:
            target.pending = PendingStart(id_tag, parent, self.st._now(), remote=True,
                                          charging_profile=profile,
                                          reservation_id=reservation_id)

    async def remote_stop(self, p: dict) -> dict:
        for c in self.st.connectors.values():
            if c.tx is not None and not c.tx.stopping and c.tx.id == p["transactionId"]:
                self.st.stop_transaction(c, "Remote")
                return {"status": "Accepted"}
        return {"status": "Rejected"}

    async def reset(self, p: dict) -> dict:
        if self.st.cfg.rejects_reset:
            return {"status": "Rejected"}
        self.st.spawn(self._reset_later(p["type"]))
        return {"status": "Accepted"}

    async def _reset_later(self, kind: str) -> None:
        await asyncio.sleep(0.05)  # the answer first
        await self.st.reset(kind)

    async def unlock_connector(self, p: dict) -> dict:
        c = self._connector(p["connectorId"])
        if c is None or self.st.cfg.fixed_cable or self.st.fault("unlock_not_supported"):
            return {"status": "NotSupported"}
        if self.st.cfg.lock_fails:
            return {"status": "UnlockFailed"}
        if c.tx is not None and not self.st.fault("unlock_keeps_transaction"):
            self.st.stop_transaction(c, "UnlockCommand")
        c.hold_lock = False
        phys = self.st.model.connector(c.number)
        if phys.locked:
            phys.locked = False
        # the lock feedback decides (a pin held by the rig stays engaged: TC_030)
        if getattr(phys, "lock_closed", False) and not self.st.fault("unlock_ignores_lock"):
            return {"status": "UnlockFailed"}
        return {"status": "Unlocked"}

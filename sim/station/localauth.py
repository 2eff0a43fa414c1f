"""Local Authorization List Management (OCPP 1.6 §3.5, §5.8, §5.15): the list, its version,
Full and Differential updates, and its place in the station's authorization.

The list lives in the station's non-volatile store (key `local_list`: version and idTag ->
idTagInfo), so it survives reboots and power loss. The profile is there only when the station
config enables it (`local_auth_list = true`); the SmartDC is Core only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sim.station.keys import KeySpec
from sim.station.ocppj import CallError

if TYPE_CHECKING:
    from sim.station.station import StationSimulator

STORE_KEY = "local_list"


def local_list_keys(max_length: int, send_max_length: int) -> dict[str, KeySpec]:
    """The profile's keys (OCPP 1.6 §9.2): the list on by default, its sizes read-only."""
    keys = [KeySpec("LocalAuthListEnabled", "true", "bool"),
            KeySpec("LocalAuthListMaxLength", str(max_length), "int", readonly=True),
            KeySpec("SendLocalListMaxLength", str(send_max_length), "int", readonly=True)]
    return {k.name: k for k in keys}


def still_valid(info: dict[str, Any], now: datetime) -> bool:
    """An Accepted entry whose expiryDate (if any) lies ahead."""
    if info.get("status") != "Accepted":
        return False
    expiry = info.get("expiryDate")
    if not expiry:
        return True
    try:
        return datetime.fromisoformat(str(expiry).replace("Z", "+00:00")) > now
    except ValueError:
        return True


class LocalAuthList:
    """The station's local list and the two CSMS calls that manage it."""

    def __init__(self, station: StationSimulator) -> None:
        self.st = station

    @property
    def supported(self) -> bool:
        return self.st.cfg.local_auth_list

    @property
    def enabled(self) -> bool:
        return self.supported and self.st.key_bool("LocalAuthListEnabled")

    def handlers(self) -> dict[str, Any]:
        if not self.supported:
            return {}
        return {"GetLocalListVersion": self.get_version, "SendLocalList": self.send_list}

    # --- the list ------------------------------------------------------------------------

    def _stored(self) -> dict[str, Any]:
        return self.st.store.get(STORE_KEY) or {"version": 0, "entries": {}}

    def lookup(self, id_tag: str) -> dict[str, Any] | None:
        """The listed idTagInfo of `id_tag` (idTags compare without case, §2.2), or None when
        the list is off, ignored (fault local_list_ignored) or does not hold it."""
        if not self.enabled or self.st.fault("local_list_ignored"):
            return None
        entries = self._stored()["entries"]
        wanted = id_tag.lower()
        return next((info for tag, info in entries.items() if tag.lower() == wanted), None)

    def authorizes(self, id_tag: str) -> dict[str, Any] | None:
        """The listed idTagInfo when it is valid now, else None (then the cache or the CSMS)."""
        info = self.lookup(id_tag)
        return info if info is not None and still_valid(info, self.st.clock()) else None

    # --- CSMS calls ----------------------------------------------------------------------

    def _off_callerror(self, action: str) -> None:
        if self.st.behaves("local_list_off_callerror"):
            raise CallError("NotSupported", f"{action}: the local list is switched off")

    async def get_version(self, p: dict) -> dict:
        if not self.enabled:
            self._off_callerror("GetLocalListVersion")
            return {"listVersion": -1}  # §5.8: -1 = no local list
        stored = self._stored()
        empty = not stored["entries"] and not self.st.fault("empty_list_reports_version")
        return {"listVersion": 0 if empty else stored["version"]}  # 0 = empty (§5.8)

    async def send_list(self, p: dict) -> dict:
        if not self.enabled:
            self._off_callerror("SendLocalList")
            return {"status": "NotSupported"}
        items = p.get("localAuthorizationList") or []
        if len(items) > self.st.key_int("SendLocalListMaxLength", 0):
            return {"status": "Failed"}
        if self.st.cfg.local_list_store_fails:  # e.g. flash full: nothing is stored
            return {"status": "Failed"}
        stored = self._stored()
        version = int(p["listVersion"])
        differential = p["updateType"] == "Differential"
        if differential and self.st.fault("differential_replaces_list"):
            differential = False
        if (differential and version <= stored["version"]
                and not self.st.fault("version_mismatch_accepted")):
            return {"status": "VersionMismatch"}  # §6.44: not newer than the list held
        entries: dict[str, Any] = dict(stored["entries"]) if differential else {}
        for item in items:
            tag, info = item["idTag"], item.get("idTagInfo")
            if info is None and differential and self.st.fault("differential_ignores_removal"):
                continue  # the entry stays listed
            entries.pop(next((t for t in entries if t.lower() == tag.lower()), tag), None)
            if info is not None:  # Differential: an entry without idTagInfo is removed
                entries[tag] = info
        if len(entries) > self.st.key_int("LocalAuthListMaxLength", 0):
            return {"status": "Failed"}
        self.st.store.put(STORE_KEY, {"version": version, "entries": entries})
        return {"status": "Accepted"}

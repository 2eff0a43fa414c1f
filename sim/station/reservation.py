"""Reservation (OCPP 1.6 §3.11, §5.4 CancelReservation, §5.13 ReserveNow): reservations of a
connector or of the Charge Point (connectorId 0), their expiry, and who may use them.

Reservations live in the station's non-volatile store (key `reservations`: reservationId ->
connector, idTag, parentIdTag, expiryDate), so they survive reboots and power loss. The profile
is there only when the station config enables it (`reservation = true`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sim.station.keys import KeySpec

if TYPE_CHECKING:
    from sim.station.connector import ConnectorState
    from sim.station.station import StationSimulator

STORE_KEY = "reservations"


def reservation_keys(connector_zero: bool) -> dict[str, KeySpec]:
    """ReserveConnectorZeroSupported (OCPP 1.6 §9.3, optional, read-only)."""
    value = "true" if connector_zero else "false"
    return {"ReserveConnectorZeroSupported":
            KeySpec("ReserveConnectorZeroSupported", value, "bool", readonly=True)}


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    connector: int  # 0: the Charge Point
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime

    def matches(self, id_tag: str, parent: str | None, groups: bool = True) -> bool:
        """The reserved idTag (idTags compare without case) or, with `groups`, one of its
        group (§5.13)."""
        if id_tag.lower() == self.id_tag.lower():
            return True
        return bool(groups and parent and self.parent_id_tag
                    and parent.lower() == self.parent_id_tag.lower())


@dataclass(frozen=True, slots=True)
class Claim:
    """Where a matching idTag may start: the connector and the reservation it uses."""

    connector: ConnectorState
    reservation_id: int


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Reservations:
    def __init__(self, station: StationSimulator) -> None:
        self.st = station

    @property
    def supported(self) -> bool:
        return self.st.cfg.reservation

    def handlers(self) -> dict[str, Any]:
        if not self.supported:
            return {}
        return {"ReserveNow": self.reserve_now, "CancelReservation": self.cancel}

    # --- the store -----------------------------------------------------------------------

    def all(self) -> list[Reservation]:
        out = []
        for rid, r in (self.st.store.get(STORE_KEY) or {}).items():
            out.append(Reservation(int(rid), r["connector"], r["id_tag"], r.get("parent"),
                                   _parse(r["expiry"])))
        return out

    def _save(self, items: list[Reservation]) -> None:
        self.st.store.put(STORE_KEY, {str(r.id): {
            "connector": r.connector, "id_tag": r.id_tag, "parent": r.parent_id_tag,
            "expiry": r.expiry.isoformat()} for r in items})

    def drop(self, reservation_id: int) -> None:
        items = self.all()
        kept = [r for r in items if r.id != reservation_id]
        if len(kept) != len(items):
            self._save(kept)

    # --- connectors ----------------------------------------------------------------------

    def _idle(self, c: ConnectorState) -> bool:
        """Free for a new session, not counting reservations: no transaction, no pending
        start, operative, no EV plugged, not faulted."""
        phys = self.st.model.connector(c.number)
        return (c.tx is None and c.pending is None and c.operative and self.st.station_operative
                and not phys.plugged and not c.finishing and not getattr(phys, "fault", None)
                and str(getattr(phys, "cp_state", "A")) != "E")

    def step(self) -> None:
        """Drop expired reservations; mark the connectors they hold Reserved (a connector-0
        reservation holds the last idle connector(s): §5.13 keeps one free for it)."""
        items = self.all()
        if not self.supported and not items:
            return
        now = self.st.clock()
        live = [r for r in items if r.expiry > now or self.st.fault("reservation_never_expires")]
        if len(live) != len(items):
            self._save(live)
        held = {r.connector for r in live if r.connector}
        idle = [c for c in self.st.connectors.values()
                if c.number not in held and self._idle(c)]
        zero = sum(1 for r in live if r.connector == 0)
        if zero and len(idle) <= zero:
            held |= {c.number for c in idle}
        for c in self.st.connectors.values():
            c.reserved = c.number in held

    def claim(self, id_tag: str, parent: str | None,
              connector: int | None = None) -> Claim | None:
        """The reservation `id_tag` (or its parent) holds and where it may start; `connector`:
        only a reservation usable there."""
        groups = not self.st.fault("reservation_ignores_parent")
        for r in sorted(self.all(), key=lambda r: r.connector == 0):
            if not r.matches(id_tag, parent, groups):
                continue
            if r.connector:
                c = self.st.connectors.get(r.connector)
                if c is not None and connector in (None, r.connector) and c.pending is None \
                        and c.tx is None:
                    return Claim(c, r.id)
                continue
            others = {o.connector for o in self.all() if o.connector and o.id != r.id}
            candidates = [c for c in self.st.connectors.values()
                          if connector in (None, c.number) and c.number not in others
                          and c.tx is None and c.pending is None and c.operative
                          and self.st.station_operative]
            if candidates:
                return Claim(candidates[0], r.id)
        return None

    def refuses_unasked(self, id_tag: str) -> bool:
        """A card the station can refuse without asking the CSMS: every connector that could
        take it is reserved for another idTag and no reservation has a group (parentIdTag)
        the card might belong to (TC_046_1: no Authorize for the other card)."""
        items = self.all()
        if not items or self.st.fault("reservation_other_tag_starts"):
            return False
        if any(r.parent_id_tag for r in items) or any(r.matches(id_tag, None) for r in items):
            return False
        busy = any(c.tx is not None for c in self.st.connectors.values())
        return not busy and self.st.free_connector() is None

    def any_reserved(self) -> ConnectorState | None:
        """Fault reservation_other_tag_starts: a reserved connector, taken by anyone."""
        if not self.st.fault("reservation_other_tag_starts"):
            return None
        return next((c for c in self.st.connectors.values() if c.reserved and c.tx is None
                     and c.pending is None), None)

    # --- CSMS calls ----------------------------------------------------------------------

    async def reserve_now(self, p: dict) -> dict:
        if self.st.cfg.rejects_reservations:
            return {"status": "Rejected"}  # configured not to accept reservations
        n, rid = p["connectorId"], p["reservationId"]
        if n == 0 and not self.st.key_bool("ReserveConnectorZeroSupported"):
            return {"status": "Rejected"}
        if n != 0 and n not in self.st.connectors:
            return {"status": "Rejected"}
        others = [r for r in self.all() if r.id != rid]
        targets = list(self.st.connectors.values()) if n == 0 else [self.st.connectors[n]]
        status = self._refusal(n, targets, others)
        if status is not None:
            return {"status": status}
        try:
            expiry = _parse(p["expiryDate"])
        except ValueError:
            return {"status": "Rejected"}
        if expiry.tzinfo is None:
            return {"status": "Rejected"}
        others.append(Reservation(rid, n, p["idTag"], p.get("parentIdTag"), expiry))
        self._save(others)  # a reservationId already held is replaced (§5.13)
        self.step()
        return {"status": "Accepted"}

    def _refusal(self, n: int, targets: list[ConnectorState],
                 others: list[Reservation]) -> str | None:
        """Faulted / Unavailable / Occupied for a connector (all of them for connectorId 0)."""
        def state(c: ConnectorState) -> str:
            status, _ = self.st._derived(c)
            if status == "Faulted":
                return "Faulted"
            if not c.operative or not self.st.station_operative:
                return "Unavailable"
            taken = {r.connector for r in others}
            if not self._idle(c) or c.number in taken:
                return "Occupied"
            return "Accepted"

        states = [state(c) for c in targets]
        if n == 0 and not self.st.station_operative:
            return "Unavailable"
        if n == 0:
            free = states.count("Accepted") - sum(1 for r in others if r.connector == 0)
            if free > 0:
                return None
            for status in ("Occupied", "Unavailable", "Faulted"):  # the most telling first
                if status in states:
                    return status
            return "Occupied"
        status = states[0]
        if status == "Occupied" and self.st.fault("reserve_occupied_accepted"):
            return None
        return None if status == "Accepted" else status

    async def cancel(self, p: dict) -> dict:
        rid = p["reservationId"]
        if any(r.id == rid for r in self.all()):
            if self.st.fault("cancel_keeps_reservation"):
                return {"status": "Accepted"}
            self.drop(rid)
            self.step()
            return {"status": "Accepted"}
        return {"status": "Accepted" if self.st.fault("cancel_unknown_accepted")
                else "Rejected"}

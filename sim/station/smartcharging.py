"""The simulated station's Smart Charging profile (OCPP 1.6 §3.13, §5.16, §5.5, §5.7).

It keeps the installed charging profiles in the station's non-volatile store, answers
SetChargingProfile, ClearChargingProfile and GetCompositeSchedule, takes a TxProfile from
RemoteStartTransaction, and limits the current the physical model may draw: each physics
step offers min(station maximum, the limit in force now) on a live connector.

Its composite schedule is computed its own way (sampled second by second, from the raw OCPP
dicts): it never calls the bench's calculator (bench/smartcharging), so the bench checks one
implementation against another.

DC: a limit in W becomes a current through the output voltage, I = P / U, with U the DC
voltage the EV asks for (what the station's output regulates to); a limit in A is the DC
output current (numberPhases has no meaning on DC and is ignored).
"""

from __future__ import annotations

import asyncio
import functools
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sim.station.meter import iso_utc
from sim.station.ocppj import CallError

if TYPE_CHECKING:
    from sim.station.connector import ConnectorState
    from sim.station.station import StationSimulator

_STORE = "charging_profiles"
_NO_TRANSACTION = "no transaction on the connector"
_SLOT_S = 60  # behaviour composite_in_minute_slots
_YIELD_EVERY_S = 3600  # composite seconds computed between two yields to the event loop
_REPEAT_S = {"Daily": 86_400, "Weekly": 604_800}


@functools.lru_cache(maxsize=256)  # a composite reads the same few stamps every second
def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SmartCharging:
    def __init__(self, station: StationSimulator) -> None:
        self.st = station

    def handlers(self) -> dict[str, Any]:
        return {"SetChargingProfile": self.set_charging_profile,
                "ClearChargingProfile": self.clear_charging_profile,
                "GetCompositeSchedule": self.get_composite_schedule}

    # --- the store: [{"connector": n, "profile": cs, "tx": local id | None, "at": iso}] -----

    def _installed(self) -> list[dict[str, Any]]:
        """Installed profiles; TxProfiles of a transaction that has ended are discarded
        (§3.13.4: a TxProfile lives as long as its transaction)."""
        items = self.st.store.get(_STORE, [])
        live = [i for i in items if i["tx"] is None or self._tx_local_id(i["connector"]) == i["tx"]]
        if len(live) != len(items):
            self.st.store.put(_STORE, live)
        return live

    def _tx_local_id(self, n: int) -> int | None:
        c = self.st.connectors.get(n)
        return c.tx.local_id if c is not None and c.tx is not None and not c.tx.stopping else None

    # --- the CSMS's calls --------------------------------------------------------------

    async def set_charging_profile(self, p: dict) -> dict:
        n, cs = p["connectorId"], p["csChargingProfiles"]
        verdict = self._refusal(n, cs)
        if verdict == _NO_TRANSACTION and self.st.behaves("smart_refusals_as_callerror"):
            raise CallError("PropertyConstraintViolation",
                            f"TxProfile for connector {n}: no transaction there")
        if verdict:
            return {"status": "Rejected"}
        self.install(n, cs, self._tx_local_id(n) if cs["chargingProfilePurpose"] == "TxProfile"
                     else None)
        return {"status": "Accepted"}

    def _refusal(self, n: int, cs: dict) -> str | None:
        """Why the station rejects the profile (None: it takes it)."""
        purpose = cs["chargingProfilePurpose"]
        if n != 0 and n not in self.st.connectors:
            return "unknown connector"
        if purpose == "ChargePointMaxProfile" and n != 0:
            return "ChargePointMaxProfile only on connector 0"
        if purpose == "TxProfile":
            c = self.st.connectors.get(n)
            if c is None or ((c.tx is None or c.tx.stopping)
                             and not self.st.fault("tx_profile_without_transaction_accepted")):
                return _NO_TRANSACTION  # §5.16: discard, error status
            wanted = cs.get("transactionId")
            if (wanted is not None and c.tx is not None and wanted != c.tx.id
                    and not self.st.fault("tx_profile_other_transaction_accepted")):
                return "another transaction"
        if cs["stackLevel"] > self.st.key_int("ChargeProfileMaxStackLevel"):
            return "stackLevel above ChargeProfileMaxStackLevel"
        schedule = cs["chargingSchedule"]
        allowed = self.st.key("ChargingScheduleAllowedChargingRateUnit")
        if {"A": "Current", "W": "Power"}[schedule["chargingRateUnit"]] not in allowed:
            return "unit not allowed"
        if len(schedule["chargingSchedulePeriod"]) > self.st.key_int("ChargingScheduleMaxPeriods"):
            return "too many periods"
        if cs["chargingProfileKind"] == "Recurring" and not (
                cs.get("recurrencyKind") in _REPEAT_S and schedule.get("startSchedule")):
            return "Recurring without recurrencyKind or startSchedule"
        kept = [i for i in self._installed() if not _replaced_by(i, n, cs)]
        if len(kept) >= self.st.key_int("MaxChargingProfilesInstalled"):
            return "MaxChargingProfilesInstalled reached"
        return None

    def install(self, n: int, cs: dict, tx_local_id: int | None) -> None:
        """Store a profile, replacing one with its id or its stackLevel and purpose (§5.16)."""
        kept = [i for i in self._installed() if not _replaced_by(i, n, cs)]
        kept.append({"connector": n, "profile": cs, "tx": tx_local_id,
                     "at": iso_utc(self.st.clock())})
        self.st.store.put(_STORE, kept)

    def remote_start_profile_refused(self, cs: dict | None) -> bool:
        """RemoteStartTransaction.chargingProfile must be a TxProfile (§5.11)."""
        refused = (cs is not None and cs.get("chargingProfilePurpose") != "TxProfile"
                   and not self.st.fault("remote_start_any_profile_accepted"))
        if refused and self.st.behaves("smart_refusals_as_callerror"):
            raise CallError("PropertyConstraintViolation",
                            "chargingProfile: the purpose must be TxProfile")
        return refused

    def transaction_started(self, c: ConnectorState, cs: dict | None) -> None:
        """A RemoteStart's TxProfile applies to the transaction it started."""
        if cs is not None and c.tx is not None:
            self.install(c.number, cs, c.tx.local_id)

    async def clear_charging_profile(self, p: dict) -> dict:
        items = self._installed()
        if "id" in p:
            hit = [i for i in items if i["profile"]["chargingProfileId"] == p["id"]]
        else:
            hit = [i for i in items if _clear_matches(i, p)]
        if not hit:
            return {"status": "Unknown"}
        if not self.st.fault("clear_profile_kept"):
            self.st.store.put(_STORE, [i for i in items if i not in hit])
        return {"status": "Accepted"}

    async def get_composite_schedule(self, p: dict) -> dict:
        n, duration = p["connectorId"], p["duration"]
        if n != 0 and n not in self.st.connectors:
            return {"status": "Rejected"}
        unit = p.get("chargingRateUnit") or self._default_unit(n)
        start, items = self.st.clock(), self._installed()
        periods: list[dict[str, Any]] = []
        for second in range(duration):
            if second and second % _YIELD_EVERY_S == 0:
                await asyncio.sleep(0)  # a day-long composite must not stall the station
            limit = self.limit(n, start + timedelta(seconds=second), unit, relative_start=start,
                               items=items)
            value = round(limit if limit is not None else self._station_max(n, unit), 1)
            slot = self.st.behaves("composite_in_minute_slots") and second % _SLOT_S == 0
            if not periods or periods[-1]["limit"] != value or slot:
                periods.append({"startPeriod": second, "limit": value})
        return {"status": "Accepted", "connectorId": n, "scheduleStart": iso_utc(start),
                "chargingSchedule": {"duration": duration, "startSchedule": iso_utc(start),
                                     "chargingRateUnit": unit,
                                     "chargingSchedulePeriod": periods}}

    # --- limits ------------------------------------------------------------------------

    def offered_a(self, c: ConnectorState, phys: Any, station_max_a: float) -> float:
        """The current offered on a live connector: the station maximum under the limit in
        force now (fault limit_not_applied: the maximum, whatever the profiles say)."""
        if self.st.fault("limit_not_applied") or not self.st.store.get(_STORE):
            return station_max_a
        limit = self.limit(c.number, self.st.clock(), "A", volts=phys.target_voltage_v)
        if limit is not None and self.st.behaves("limit_with_margin"):
            limit *= 0.9
        return station_max_a if limit is None else max(0.0, min(station_max_a, limit))

    def limit(self, n: int, at: datetime, unit: str, volts: float | None = None,
              relative_start: datetime | None = None,
              items: list[dict] | None = None) -> float | None:
        """The limit in force on connector n at `at` (None: no profile limits it). Relative
        schedules start with the transaction; without one at `relative_start` (a composite
        schedule's start: as if a transaction started then)."""
        items = self._installed() if items is None else items
        volts = volts or self._volts(n)
        tx_start = self._tx_start(n) or relative_start or at
        cap = self._by_purpose(items, "ChargePointMaxProfile", 0, at, unit, volts, tx_start)
        if n == 0:
            return cap
        mine = self._by_purpose(items, "TxProfile", n, at, unit, volts, tx_start)
        if mine is None:
            mine = self._by_purpose(items, "TxDefaultProfile", n, at, unit, volts, tx_start)
        both = [v for v in (cap, mine) if v is not None]
        return min(both) if both else None

    def _by_purpose(self, items: list[dict], purpose: str, n: int, at: datetime, unit: str,
                    volts: float, tx_start: datetime) -> float | None:
        """The highest stackLevel of the purpose that limits at `at` (a profile on connector
        n beats one on connector 0 at the same level). Fault composite_ignores_stack_level:
        the first installed of the purpose that limits, whatever its level."""
        if purpose == "TxProfile":  # only the one of the running transaction
            tx = self._tx_local_id(n)
            candidates = [i for i in items if i["profile"]["chargingProfilePurpose"] == purpose
                          and i["connector"] == n and tx is not None and i["tx"] == tx]
        else:
            candidates = [i for i in items if i["profile"]["chargingProfilePurpose"] == purpose
                          and i["connector"] in (0, n)]
        if not self.st.fault("composite_ignores_stack_level"):
            candidates.sort(key=lambda i: (i["profile"]["stackLevel"], i["connector"] == n),
                            reverse=True)
        for item in candidates:
            value = _profile_limit(item, at, tx_start)
            if value is not None:
                rate, profile_unit = value
                return _in_unit(rate, profile_unit, unit, volts)
        return None

    def _tx_start(self, n: int) -> datetime | None:
        c = self.st.connectors.get(n)
        return _when(c.tx.started_iso) if c is not None and c.tx is not None else None

    def _volts(self, n: int) -> float:
        try:
            volts = self.st.model.connector(max(n, 1)).target_voltage_v
        except KeyError:
            volts = 0.0
        return volts or self.st.cfg.nominal_dc_voltage_v

    def _default_unit(self, n: int) -> str:
        for item in self._installed():
            if item["connector"] in (0, n):
                return item["profile"]["chargingSchedule"]["chargingRateUnit"]
        return "A"

    def _station_max(self, n: int, unit: str) -> float:
        amps = self.st.cfg.max_current_a
        return amps if unit == "A" else amps * self._volts(n)


def _replaced_by(item: dict, n: int, cs: dict) -> bool:
    old = item["profile"]
    if old["chargingProfileId"] == cs["chargingProfileId"]:
        return True
    return (item["connector"] == n and old["stackLevel"] == cs["stackLevel"]
            and old["chargingProfilePurpose"] == cs["chargingProfilePurpose"])


def _clear_matches(item: dict, p: dict) -> bool:
    old = item["profile"]
    return (p.get("connectorId") in (None, item["connector"])
            and p.get("chargingProfilePurpose") in (None, old["chargingProfilePurpose"])
            and p.get("stackLevel") in (None, old["stackLevel"]))


def _profile_limit(item: dict, at: datetime, tx_start: datetime) -> tuple[float, str] | None:
    """(limit, unit) one stored profile sets at `at`, or None."""
    cs = item["profile"]
    schedule = cs["chargingSchedule"]
    valid_from, valid_to = _when(cs.get("validFrom")), _when(cs.get("validTo"))
    if (valid_from and at < valid_from) or (valid_to and at >= valid_to):
        return None
    kind = cs["chargingProfileKind"]
    if kind == "Relative":
        begin = tx_start
    else:
        begin = _when(schedule.get("startSchedule")) or _when(item["at"])
        if kind == "Recurring":
            repeat = _REPEAT_S[cs["recurrencyKind"]]
            elapsed = (at - begin).total_seconds()
            if elapsed < 0:
                return None
            begin += timedelta(seconds=math.floor(elapsed / repeat) * repeat)
    offset = (at - begin).total_seconds()
    duration = schedule.get("duration")
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    started = [q for q in schedule["chargingSchedulePeriod"] if q["startPeriod"] <= offset]
    if not started:
        return None
    latest = max(started, key=lambda q: q["startPeriod"])
    return float(latest["limit"]), schedule["chargingRateUnit"]


def _in_unit(value: float, have: str, want: str, volts: float) -> float:
    if have == want:
        return value
    return value * volts if want == "W" else value / volts

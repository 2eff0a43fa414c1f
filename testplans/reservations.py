"""Steps the Reservation cases share (TC_046_x .. TC_053): ReserveNow with an expiryDate ahead
of the bench's clock, the Reserved status, the other connectors made Unavailable, a card the
reserved connector must refuse, and the start that uses the reservation.

A reservation the case leaves behind is cancelled by the maintenance (CancelReservation), so
the next case finds every connector Available.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from dataclasses import dataclass
from typing import Any

from bench.plugin import BenchFault, Case
from testplans.ocpp import check_answer, expect, expect_any_order, expect_status, triggered
from testplans.states import (
    Session,
    check_current_flows,
    check_start_payload,
    plug_in,
    swipe,
    transaction_id_of,
)

# reservationIds unique across the runs of one station (it may keep reservations stored)
_IDS = itertools.count(int(time.time()) % 1_000_000 * 10)


@dataclass
class Reserved:
    """A ReserveNow the bench sent and what the station answered."""

    reservation_id: int
    connector: int
    id_tag: str
    expiry: dt.datetime
    answer: Any  # the CallResult


def expiry_in(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def ocpp_time(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


async def reserve(case: Case, connector: int, card: Any, expected: str = "Accepted", *,
                  expiry_s: float | None = None, parent: str | None = None) -> Reserved:
    """ReserveNow(connector, card's idTag, expiryDate = now + expiry_s, default setting
    `reservation_expiry_s`) whose status must be `expected`; an accepted one is cancelled by
    the maintenance if the case leaves it."""
    rid = next(_IDS)
    expiry = expiry_in(float(case.setting("reservation_expiry_s") if expiry_s is None
                             else expiry_s))
    payload: dict[str, Any] = {"connectorId": connector, "expiryDate": ocpp_time(expiry),
                               "idTag": card.id_tag, "reservationId": rid}
    if parent:
        payload["parentIdTag"] = parent
    res = await case.station.call("ReserveNow", payload)
    if res.error is None and res.get("status") == "Accepted":
        cancel_afterwards(case, rid)
    check_answer(case, res, expected, f"ReserveNow(connector {connector}, idTag {card.id_tag}"
                 f"{', parentIdTag ' + parent if parent else ''})")
    return Reserved(rid, connector, card.id_tag, expiry, res)


def cancel_afterwards(case: Case, reservation_id: int) -> None:
    async def cancel() -> None:
        res = await case.station.call("CancelReservation", {"reservationId": reservation_id})
        if res.error is not None:
            raise RuntimeError(f"CancelReservation({reservation_id}) answered CALLERROR "
                               f"{res.error.code}")
        # Rejected: used or expired meanwhile, nothing left to cancel

    case.undo[f"reservation {reservation_id} cancelled"] = cancel


async def reserve_and_see_reserved(case: Case, connector: int, card: Any, *,
                                   expiry_s: float | None = None,
                                   parent: str | None = None) -> tuple[Reserved, Any]:
    """ReserveNow Accepted, then StatusNotification(connector, Reserved); measures
    triggered.reserve_now (CALL sent -> the Reserved status)."""
    with case.step(f"ReserveNow(connector {connector}, {card.tag}): Accepted, Reserved"):
        r = await reserve(case, connector, card, expiry_s=expiry_s, parent=parent)
        sn = await expect_status(case, connector, "Reserved", after=r.answer.sent_mono_ns,
                                 trigger="the ReserveNow")
        triggered(case, "triggered.reserve_now", r.answer, sn)
    return r, sn


async def others_unavailable(case: Case, connector: int) -> None:
    """Every other connector Inoperative (ChangeAvailability -> Unavailable), so that a card
    has nowhere to start but the reserved connector (OCTT TC_046_1's precondition); the
    maintenance makes them Operative again."""
    for m in range(1, case.rig.station.connectors + 1):
        if m == connector:
            continue
        with case.step(f"connector {m} made Unavailable"):
            res = await case.station.call("ChangeAvailability",
                                          {"connectorId": m, "type": "Inoperative"})
            check_answer(case, res, "Accepted", f"ChangeAvailability({m}, Inoperative)")
            await expect_status(case, m, "Unavailable", after=res.sent_mono_ns)


async def other_card_refused(case: Case, connector: int, card: Any, reserved_for: str) -> None:
    """Card `card` at the reserved connector: the station must not ask the CSMS about it (OCTT
    TC_046_1: no Authorize) and must not start; the connector stays Reserved."""
    watch_s = float(case.setting("card_watch_s"))
    with case.step(f"present card {card.tag} ({card.id_tag}): refused, no Authorize"):
        before, _ = await swipe(case, card.tag)
        with case.waiting(f"no reaction to card {card.tag} for {watch_s:g} s", watch_s):
            await asyncio.sleep(watch_s)
        station = case.station
        auths = [m for m in station.received("Authorize") if m.mono_ns >= before]
        case.check(not auths, f"no Authorize for card {card.id_tag} while connector {connector} "
                   f"is reserved for {reserved_for} (OCTT TC_046_1)",
                   f"sent Authorize for {auths[0].payload.get('idTag') if auths else ''} "
                   f"(seq {auths[0].seq if auths else ''})",
                   at=auths[0].mono_ns if auths else None)
        left = [m for m in station.received("StatusNotification")
                if m.mono_ns >= before and m.payload.get("connectorId") == connector
                and m.payload.get("status") != "Reserved"]
        case.check(not left, f"connector {connector} to stay as it was (Reserved) after card "
                   f"{card.id_tag}",
                   "sent " + ", ".join(f"StatusNotification({m.payload.get('status')}, seq "
                                       f"{m.seq})" for m in left),
                   at=left[0].mono_ns if left else None)
        starts = [m for m in station.received("StartTransaction") if m.mono_ns >= before]
        case.check(not starts, f"no StartTransaction for card {card.id_tag} on a reserved "
                   "station (OCPP 1.6 §5.13: only the reserved idTag may charge there)",
                   "started one: " + ", ".join(
                       f"seq {m.seq} connector {m.payload.get('connectorId')} idTag "
                       f"{m.payload.get('idTag')}" for m in starts),
                   at=starts[0].mono_ns if starts else None)


async def reserved_card_starts(case: Case, connector: int, card: Any, r: Reserved) -> Session:
    """The reserved card (or one of its group): Preparing (an Authorize may come first);
    PLUG -> StartTransaction carrying the reservationId and StatusNotification(Charging);
    energy flows."""
    with case.step(f"present card {card.tag} ({card.id_tag}): Preparing"):
        before, _ = await swipe(case, card.tag)
        sn = await expect(case, "StatusNotification", {"status": "Preparing"}, after=before,
                          trigger="the card was presented")
        got = sn.payload.get("connectorId")
        case.check(got == connector, f"the reserved connector {connector} to take card "
                   f"{card.id_tag} (StatusNotification Preparing)", f"sent Preparing for "
                   f"connector {got} (seq {sn.seq})", at=sn.mono_ns)
    with case.step(f"plug the EV into connector {connector}: the reservation is used"):
        plugged = time.monotonic_ns()
        await plug_in(case, connector)
        session = await started_on_reservation(case, connector, card.id_tag, r,
                                               after=max(plugged, sn.mono_ns))
    await check_current_flows(case, connector, "of the StartTransaction")
    return session


async def started_on_reservation(case: Case, connector: int, id_tag: str, r: Reserved, *,
                                 after: Any) -> Session:
    """StartTransaction (connector, idTag, reservationId) and StatusNotification(Charging),
    either order."""
    start, sn = await expect_any_order(
        case, ("StartTransaction", {"connectorId": connector}),
        ("StatusNotification", {"connectorId": connector, "status": "Charging"}), after=after)
    check_start_payload(case, start, connector, id_tag)
    check_reservation_id(case, start, r)
    return Session(await transaction_id_of(case, start), connector, id_tag, start, sn)


def check_reservation_id(case: Case, start: Any, r: Reserved) -> None:
    got = start.payload.get("reservationId")
    case.check(got == r.reservation_id, f"StartTransaction with reservationId "
               f"{r.reservation_id} (OCPP 1.6 §6.45: the reservation it ends)",
               f"sent reservationId {got if 'reservationId' in start.payload else '(left out)'}"
               f" (seq {start.seq})", at=start.mono_ns)


async def expect_released(case: Case, connector: int, after: Any, within: float) -> Any:
    """StatusNotification(connector, Available): the reservation is gone."""
    return await expect_status(case, connector, "Available", after=after, within=within)


def unknown_reservation_id() -> int:
    """A reservationId no ReserveNow of the bench uses (those stay below 10 000 000)."""
    return 1_000_000_000 + next(_IDS) % 1000


async def check_connector_zero_declared(case: Case) -> None:
    """The rig's `[hardware] reserve_connector_zero` must agree with the station's
    ReserveConnectorZeroSupported (OCPP 1.6 §9.3, optional: absent reads false); a rig that
    says otherwise would judge the station by a wrong prerequisite."""
    res = await case.station.call("GetConfiguration", {"key": ["ReserveConnectorZeroSupported"]})
    entries = {e.get("key"): e.get("value") for e in res.get("configurationKey", []) or []}
    value = entries.get("ReserveConnectorZeroSupported")
    station_says = str(value).strip().lower() == "true"
    rig_says = bool(case.rig.hardware.get("reserve_connector_zero", False))
    if res.error is None and station_says != rig_says:
        shown = "does not report it" if value is None else f"reports {value!r}"
        raise BenchFault(f"the rig says [hardware] reserve_connector_zero = "
                         f"{str(rig_says).lower()}; the station {shown} for "
                         "ReserveConnectorZeroSupported: correct the rig file")

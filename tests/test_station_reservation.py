"""The simulated station's reservations (sim/station/reservation.py), on the wire: ReserveNow's
statuses, the Reserved status and who may use it, expiry, replacement, connector 0,
CancelReservation, persistence across a reboot, the reservationId in StartTransaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_station_support import MEMBER, VALID, VALID2, Rig, station_rig

PROFILE = {"reservation": True, "reserve_connector_zero": True}


def ahead(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def reserve(rig: Rig, connector: int, rid: int = 1, tag: str = VALID,
                  expiry_s: float = 60, **more: str) -> str:
    res = await rig.cs.call("ReserveNow", {"connectorId": connector, "idTag": tag,
                                           "reservationId": rid, "expiryDate": ahead(expiry_s),
                                           **more})
    return res.get("status")


async def status(rig: Rig, connector: int, wanted: str, after: int | None = None):
    return await rig.cs.expect("StatusNotification",
                               {"connectorId": connector, "status": wanted}, 5, after=after)


async def test_reserved_then_used_with_its_id(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        assert await reserve(rig, 1, rid=11) == "Accepted"
        await status(rig, 1, "Reserved")
        rig.cards.tap(VALID)
        await status(rig, 1, "Preparing")
        rig.plug(1)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start.payload["reservationId"] == 11
        assert rig.sim.reservations.all() == []  # used: it ends


async def test_statuses_of_reserve_now(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station={"reservation": True}) as rig:
        assert await reserve(rig, 0) == "Rejected"  # no ReserveConnectorZeroSupported
        assert await reserve(rig, 3) == "Rejected"  # no such connector
        rig.plug(2)
        await status(rig, 2, "Preparing")
        assert await reserve(rig, 2) == "Occupied"
        await rig.cs.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        await status(rig, 1, "Unavailable")
        assert await reserve(rig, 1) == "Unavailable"
        rig.model.connector(2).fault = "GroundFailure"
        await status(rig, 2, "Faulted")
        assert await reserve(rig, 2) == "Faulted"


async def test_expiry_and_replacement(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        assert await reserve(rig, 1, rid=5, expiry_s=60) == "Accepted"
        reserved = await status(rig, 1, "Reserved")
        assert await reserve(rig, 1, rid=5, expiry_s=0.6) == "Accepted"  # same id: replaced
        assert len(rig.sim.reservations.all()) == 1
        await status(rig, 1, "Available", after=reserved.mono_ns + 1)
        assert rig.sim.reservations.all() == []


async def test_cancel(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        assert await reserve(rig, 2, rid=9) == "Accepted"
        reserved = await status(rig, 2, "Reserved")
        assert (await rig.cs.call("CancelReservation", {"reservationId": 8})).get(
            "status") == "Rejected"
        assert (await rig.cs.call("CancelReservation", {"reservationId": 9})).get(
            "status") == "Accepted"
        await status(rig, 2, "Available", after=reserved.mono_ns + 1)


async def test_other_card_refused_without_authorize_group_member_accepted(tmp_path: Path):
    async with station_rig(tmp_path, station=PROFILE) as rig:
        await rig.cs.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
        await status(rig, 2, "Unavailable")
        assert await reserve(rig, 1, tag=VALID, parentIdTag="GROUP-A") == "Accepted"
        await status(rig, 1, "Reserved")
        rig.cards.tap(VALID2)  # group B: asked (the reservation has a group), then refused
        auth = await rig.cs.expect("Authorize", {"idTag": VALID2}, 5)
        await asyncio.sleep(0.5)
        assert rig.sim.connectors[1].pending is None
        rig.cards.tap(MEMBER)  # group A: uses the reservation
        await status(rig, 1, "Preparing", after=auth.mono_ns)


async def test_plugged_reserved_connector_still_refuses_another_card(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        await rig.cs.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
        await status(rig, 2, "Unavailable")
        assert await reserve(rig, 1) == "Accepted"
        reserved = await status(rig, 1, "Reserved")
        rig.plug(1)  # an EV at the reserved connector: Preparing, still reserved
        await status(rig, 1, "Preparing", after=reserved.mono_ns)
        with rig.cs.forbid("StartTransaction"):
            rig.cards.tap(VALID2)
            await asyncio.sleep(0.8)
        rig.cards.tap(VALID)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start.payload["idTag"] == VALID and start.payload["reservationId"] == 1


async def test_connector_zero_keeps_the_last_connector(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        await status(rig, 2, "Available")
        assert await reserve(rig, 0, rid=3) == "Accepted"
        assert not any(c.reserved for c in rig.sim.connectors.values())  # two free: none held
        rig.plug(2)
        await status(rig, 2, "Preparing")
        await status(rig, 1, "Reserved")  # the last free connector
        assert await reserve(rig, 0, rid=4, tag=VALID2) == "Occupied"  # nothing left for it


async def test_reservation_survives_a_reboot_and_remote_start_of_another_is_rejected(
        tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=PROFILE) as rig:
        assert await reserve(rig, 1, rid=21) == "Accepted"
        await status(rig, 1, "Reserved")
        gen = rig.cs.generation
        await rig.cs.call("Reset", {"type": "Hard"})
        since = await rig.new_connection(gen)
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5, after=since)
        assert sn.payload["status"] == "Reserved"
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID2})
        assert res.get("status") == "Rejected"
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        assert res.get("status") == "Accepted"
        rig.plug(1)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start.payload["reservationId"] == 21


async def test_smartdc_has_no_reservations(tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("ReserveNow", {"connectorId": 1, "idTag": VALID,
                                               "reservationId": 1, "expiryDate": ahead(60)})
        assert res.error is not None and res.error.code == "NotSupported"
        assert "ReserveConnectorZeroSupported" not in rig.sim.keys

"""Reset, availability and power loss of the simulated station."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_station_support import VALID, station_rig, wait_until

from sim.station import PersistentStore


@pytest.mark.parametrize("kind", ["Hard", "Soft"])
async def test_reset_without_transaction_keeps_the_connector_unavailable(tmp_path: Path,
                                                                         kind: str):
    store = PersistentStore(tmp_path / "station-store.json")
    async with station_rig(tmp_path, store=store) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        res = await rig.cs.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        assert res.get("status") == "Accepted"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Unavailable"}, 5)
        gen = rig.cs.generation
        res = await rig.cs.call("Reset", {"type": kind})
        assert res.get("status") == "Accepted"
        since = await rig.new_connection(gen)
        await rig.cs.expect("BootNotification", within=5, after=since)
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5,
                                 after=since)
        assert sn.payload["status"] == "Unavailable"
        await rig.cs.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5)
    assert PersistentStore(tmp_path / "station-store.json").get("availability")["1"] is True


@pytest.mark.parametrize(("kind", "reason"), [("Hard", "HardReset"), ("Soft", "SoftReset")])
async def test_reset_with_transaction_stops_it_with_the_reset_reason(tmp_path: Path, kind: str,
                                                                     reason: str):
    async with station_rig(tmp_path) as rig:
        await rig.charging(1)
        gen = rig.cs.generation
        await rig.cs.call("Reset", {"type": kind})
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == reason
        since = await rig.new_connection(gen)
        await rig.cs.expect("BootNotification", within=5, after=since)
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5,
                                 after=since)
        assert sn.payload["status"] in ("Preparing", "Finishing")  # EV still plugged
        assert rig.model.connector(1).plugged


async def test_change_availability_during_a_transaction_is_scheduled(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        tx_id = await rig.charging(1)
        res = await rig.cs.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        assert res.get("status") == "Scheduled"
        await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id})
        await rig.cs.expect("StopTransaction", within=5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Unavailable"}, 5)


async def test_power_loss_without_backup_ends_the_transaction_after_boot(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.charging(1)
        gen = rig.cs.generation
        rig.model.mains_on = False
        await rig.power_off()
        assert rig.cs.received("StopTransaction") == []
        rig.model.mains_on = True
        rig.power_on()
        since = await rig.new_connection(gen)
        await rig.cs.expect("BootNotification", within=5, after=since)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "PowerLoss"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, 5)


async def test_power_loss_with_backup_power_stops_first(tmp_path: Path):
    async with station_rig(tmp_path, station={"backup_power": True}) as rig:
        await rig.charging(1)
        rig.model.mains_on = False  # the rig cuts the mains, then tells the station
        await rig.power_off()
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "PowerLoss"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, 5)


async def test_charge_point_unavailable_survives_power_loss(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        for n in (0, 1, 2):
            await rig.cs.expect("StatusNotification", {"connectorId": n, "status": "Unavailable"},
                                5)
        gen = rig.cs.generation
        await rig.power_off()
        rig.power_on()
        since = await rig.new_connection(gen)
        for n in (0, 1, 2):
            sn = await rig.cs.expect("StatusNotification", {"connectorId": n}, 5,
                                     after=since)
            assert sn.payload["status"] == "Unavailable"


async def test_offline_transaction_survives_power_loss_in_the_journal(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.5)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.plug(1)
        rig.cards.tap(VALID)
        await wait_until(lambda: rig.sim.connectors[1].tx is not None, 5, "offline start")
        await rig.power_off()
        rig.power_on()
        start = await rig.cs.expect("StartTransaction", {"idTag": VALID}, 10)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "PowerLoss" and stop.mono_ns > start.mono_ns
        assert len(rig.cs.received("StartTransaction")) == 0

"""Charging sessions of the simulated station against the bench's CSMS on loopback."""

from __future__ import annotations

from pathlib import Path

from test_station_support import MEMBER, VALID, VALID2, station_rig, wait_until


async def test_plug_in_first_session_charges_and_stops_with_the_same_card(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        rig.plug(1)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.cards.tap(VALID)
        auth = await rig.cs.expect("Authorize", {"idTag": VALID}, 5)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1, "idTag": VALID}, 5)
        assert start.mono_ns > auth.mono_ns
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Charging"}, 5)
        phys = rig.model.connector(1)
        await wait_until(lambda: phys.current_a > 0, 3, "current flowing")
        await wait_until(lambda: phys.energy_wh > 1.0, 5, "energy counted")
        rig.cards.tap(VALID)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "Local"
        assert stop.payload["idTag"] == VALID
        assert stop.payload["meterStop"] > start.payload["meterStart"]
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, 5)
        assert not phys.contactor_closed and phys.current_a == 0
        rig.unplug(1)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5)


async def test_identification_first_then_plug_starts(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        rig.cards.tap(VALID)
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.plug(1)
        await rig.cs.expect("StartTransaction", {"connectorId": 1, "idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Charging"}, 5)


async def test_identification_without_plug_times_out(tmp_path: Path):
    async with station_rig(tmp_path, keys={"ConnectionTimeOut": 1}) as rig:
        with rig.cs.forbid("StartTransaction"):
            rig.cards.tap(VALID)
            await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
            await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5)


async def test_other_card_of_the_same_group_stops_and_a_foreign_card_does_not(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.charging(1, VALID)
        with rig.cs.forbid("StopTransaction"):
            rig.cards.tap(VALID2)
            await rig.cs.expect("Authorize", {"idTag": VALID2}, 5)
            await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Preparing"}, 5)
        rig.cards.tap(MEMBER)
        await rig.cs.expect("Authorize", {"idTag": MEMBER}, 5)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["idTag"] == MEMBER and stop.payload["reason"] == "Local"


async def test_remote_start_authorizes_then_remote_stop(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        assert res.get("status") == "Accepted"
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.plug(1)
        await rig.cs.expect("StartTransaction", {"connectorId": 1, "idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Charging"}, 5)
        await wait_until(lambda: rig.sim.connectors[1].tx and rig.sim.connectors[1].tx.id, 5,
                         "transaction id")
        tx_id = rig.sim.connectors[1].tx.id
        busy = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        assert busy.get("status") == "Rejected"
        zero = await rig.cs.call("RemoteStartTransaction", {"connectorId": 0, "idTag": VALID})
        assert zero.get("status") == "Rejected"
        unknown = await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id + 100})
        assert unknown.get("status") == "Rejected"
        res = await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id})
        assert res.get("status") == "Accepted"
        stop = await rig.cs.expect("StopTransaction", {"transactionId": tx_id}, 5)
        assert stop.payload["reason"] == "Remote"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, 5)
        assert rig.model.connector(1).current_a == 0


async def test_ev_side_disconnect_stops_or_suspends_per_key(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.charging(1)
        rig.unplug(1)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "EVDisconnected"
    async with station_rig(tmp_path, keys={"StopTransactionOnEVSideDisconnect": False}) as rig:
        tx_id = await rig.charging(1)
        with rig.cs.forbid("StopTransaction"):
            rig.unplug(1)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "SuspendedEV"}, 5)
        await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id})
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "Remote"


async def test_ev_pause_is_suspended_ev(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.charging(1)
        rig.model.connector(1).pause = True
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "SuspendedEV"}, 5)
        rig.model.connector(1).pause = False
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Charging"}, 5)

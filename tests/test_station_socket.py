"""The simulated station's socket outlet (sim/station/outlet.py) reacts as a socket station
does: it locks the cable before a session starts, reports a pin that cannot engage as
ConnectorLockFailure and starts nothing, answers UnlockConnector from its lock feedback, and
stays Finishing while the cable is still in its socket."""

from __future__ import annotations

import time
from pathlib import Path

from test_station_support import VALID, station_rig, wait_until

SOCKET = {"fixed_cable": False}


async def test_half_plug_is_a_lock_failure_and_starts_nothing(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SOCKET) as rig:
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        assert res.get("status") == "Accepted"
        before = time.monotonic_ns()
        c = rig.model.connector(1)
        c.socket_plug, c.plugged, c.cp_request = "half", True, "B"
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Faulted"},
                                 5, after=before)
        assert sn.payload["errorCode"] == "ConnectorLockFailure"
        assert not c.lock_closed and not rig.cs.received("StartTransaction")
        c.plugged, c.cp_request = False, "A"
        c.socket_plug = "out"  # the half-inserted plug is taken away: Available again
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5,
                            after=sn.mono_ns)


async def test_session_starts_on_a_locked_cable_only(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SOCKET) as rig:
        await rig.charging(1)
        c = rig.model.connector(1)
        assert c.locked and c.lock_closed
        c.socket_plug = "out"  # pulled while charging: the lock keeps it in
        assert c.socket_plug == "seated"


async def test_unlock_answers_from_the_lock_feedback(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SOCKET) as rig:
        c = rig.model.connector(1)
        c.lock_held = True
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "UnlockFailed"
        c.lock_held = False
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "Unlocked"


async def test_finishing_until_the_cable_leaves_the_socket(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SOCKET,
                           keys={"StopTransactionOnEVSideDisconnect": True,
                                 "UnlockConnectorOnEVSideDisconnect": True}) as rig:
        await rig.charging(1)
        before = time.monotonic_ns()
        rig.unplug(1)  # the EV end only
        stop = await rig.cs.expect("StopTransaction", within=5, after=before)
        assert stop.payload["reason"] == "EVDisconnected"
        fin = await rig.cs.expect("StatusNotification", {"connectorId": 1,
                                                         "status": "Finishing"}, 5, after=before)
        c = rig.model.connector(1)
        await wait_until(lambda: not c.lock_closed, 5, "the lock to open")
        c.socket_plug = "out"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5,
                            after=fin.mono_ns)

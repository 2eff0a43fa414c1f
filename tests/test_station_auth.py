"""Authorization rules of the simulated station: invalid tags, cache, status debounce, faults."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_station_support import INVALID, VALID, station_rig, wait_until


async def test_invalid_card_starts_nothing(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        with rig.cs.forbid("StartTransaction"):
            rig.cards.tap(INVALID)
            await rig.cs.expect("Authorize", {"idTag": INVALID}, 5)
            rig.plug(1)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "Preparing"}, 5)
            await asyncio.sleep(0.5)
        assert rig.model.connector(1).current_a == 0


async def test_cached_card_starts_without_authorize_until_the_cache_is_cleared(tmp_path: Path):
    async with station_rig(tmp_path, station={"authorization_cache": True},
                           keys={"LocalPreAuthorize": True, "LocalAuthorizeOffline": True,
                                 "AllowOfflineTxForUnknownId": False}) as rig:
        assert rig.sim.key("AuthorizationCacheEnabled") == "true"
        rig.cards.tap(VALID)
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.cards.tap(VALID)  # again before plugging in: cancelled
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5)
        with rig.cs.forbid("Authorize"):  # TC_007: from the cache
            rig.cards.tap(VALID)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "Preparing"}, 5)
            rig.cards.tap(VALID)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "Available"}, 5)
        # offline, the cached card still starts (LocalAuthorizeOffline) ...
        await rig.cs.disconnect(refuse_for=1.0)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.cards.tap(VALID)
        await wait_until(lambda: rig.sim.connectors[1].pending is not None, 5, "offline start")
        rig.cards.tap(VALID)
        await wait_until(lambda: rig.sim.connectors[1].pending is None, 5, "cancelled")
        await rig.cs.wait_reconnected(10)
        res = await rig.cs.call("ClearCache", {})
        assert res.get("status") == "Accepted"
        rig.cards.tap(VALID)  # TC_061: asks the CSMS again
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5, after=rig.cs.connected_mono_ns)


async def test_offline_unknown_card_is_refused_without_offline_rules(tmp_path: Path):
    async with station_rig(tmp_path, keys={"AllowOfflineTxForUnknownId": False}) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.0)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.cards.tap(VALID)
        await wait_until(lambda: rig.cards.settled, 5, "the card seen")
        await asyncio.sleep(0.3)
        assert rig.sim.connectors[1].pending is None and rig.sim.connectors[2].pending is None


async def test_minimum_status_duration_swallows_short_glitches(tmp_path: Path):
    async with station_rig(tmp_path, keys={"MinimumStatusDuration": 1}) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        with rig.cs.forbid("StatusNotification", {"connectorId": 1}):
            rig.plug(1)
            await asyncio.sleep(0.4)
            rig.unplug(1)
            await asyncio.sleep(1.3)
        rig.plug(1)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)


async def test_hardware_fault_is_reported_as_faulted(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        rig.model.connector(2).fault = "GroundFailure"
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Faulted"}, 5)
        assert sn.payload["errorCode"] == "GroundFailure"
        rig.model.connector(2).fault = None
        await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Available"}, 5)


async def test_cp_shorted_to_pe_is_faulted(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        rig.model.connector(2).force_e = True
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Faulted"}, 5)
        assert sn.payload["errorCode"] == "OtherError"
        rig.model.connector(2).force_e = False
        await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Available"}, 5)

"""The simulated station's local authorization list (sim/station/localauth.py), on the wire:
versions, Full and Differential updates, sizes, persistence across a reboot, its precedence
over the cache and the CSMS, offline authorization."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from test_station_support import INVALID, VALID, VALID2, Rig, station_rig

LIST = {"local_auth_list": True, "send_local_list_max_length": 2, "local_list_max_length": 3}
OK = {"status": "Accepted"}


async def send(rig: Rig, update: str, version: int, *entries: tuple[str, Any]) -> str:
    items = [{"idTag": tag, **({"idTagInfo": info} if info is not None else {})}
             for tag, info in entries]
    payload: dict[str, Any] = {"listVersion": version, "updateType": update}
    if items:
        payload["localAuthorizationList"] = items
    return (await rig.cs.call("SendLocalList", payload)).get("status")


async def version(rig: Rig) -> int:
    return (await rig.cs.call("GetLocalListVersion", {})).get("listVersion")


async def test_versions_full_and_differential(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=LIST) as rig:
        assert await version(rig) == 0  # empty
        assert await send(rig, "Full", 3, (VALID, OK), (VALID2, OK)) == "Accepted"
        assert await version(rig) == 3
        assert await send(rig, "Differential", 3, (INVALID, OK)) == "VersionMismatch"
        assert await send(rig, "Differential", 4, (VALID2, None), (INVALID, OK)) == "Accepted"
        assert rig.sim.local_list.lookup(VALID2) is None  # no idTagInfo: removed
        assert rig.sim.local_list.lookup(VALID.lower()) == OK  # idTags compare without case
        assert rig.sim.local_list.lookup(INVALID) == OK
        assert await send(rig, "Full", 1) == "Accepted"  # a Full update sets any version
        assert await version(rig) == 0  # ... and an empty list reads 0


async def test_sizes_fail_and_keep_the_list(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=LIST) as rig:
        assert await send(rig, "Full", 1, (VALID, OK)) == "Accepted"
        too_many = [(f"TAG{i}", OK) for i in range(3)]  # SendLocalListMaxLength 2
        assert await send(rig, "Full", 2, *too_many) == "Failed"
        assert await send(rig, "Differential", 2, ("A", OK), ("B", OK)) == "Accepted"
        assert await send(rig, "Differential", 3, ("C", OK)) == "Failed"  # 4 > max length 3
        assert await version(rig) == 2
        res = await rig.cs.call("GetConfiguration", {"key": [
            "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength",
            "SupportedFeatureProfiles"]})
        keys = {k["key"]: k for k in res.get("configurationKey")}
        assert keys["LocalAuthListMaxLength"]["readonly"] and keys["LocalAuthListMaxLength"][
            "value"] == "3"
        assert not keys["LocalAuthListEnabled"]["readonly"]
        assert keys["SupportedFeatureProfiles"]["value"] == "Core,LocalAuthListManagement"


async def test_list_survives_a_reboot(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=LIST) as rig:
        assert await send(rig, "Full", 7, (VALID, OK)) == "Accepted"
        gen = rig.cs.generation
        await rig.cs.call("Reset", {"type": "Hard"})
        await rig.new_connection(gen)
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5,
                            after=rig.cs.connected_mono_ns)
        assert await version(rig) == 7


async def test_listed_card_starts_without_authorize_and_before_the_cache(tmp_path: Path):
    blocked = {"status": "Blocked"}
    async with station_rig(tmp_path, station={**LIST, "authorization_cache": True},
                           keys={"LocalPreAuthorize": True}) as rig:
        cache = rig.store.get("auth_cache", {})
        cache[VALID] = blocked  # the cache says Blocked, the list Accepted: the list wins
        rig.store.put("auth_cache", cache)
        assert await send(rig, "Full", 1, (VALID, OK)) == "Accepted"
        with rig.cs.forbid("Authorize"):
            rig.cards.tap(VALID)
            await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"},
                                5)


async def test_list_off_answers_minus_one_and_not_supported(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=LIST,
                           keys={"LocalAuthListEnabled": False}) as rig:
        assert await version(rig) == -1
        assert await send(rig, "Full", 1, (VALID, OK)) == "NotSupported"


async def test_smartdc_has_no_local_list(tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("GetLocalListVersion", {})
        assert res.error is not None and res.error.code == "NotSupported"
        assert "LocalAuthListEnabled" not in rig.sim.keys


async def test_offline_only_with_local_authorize_offline(tmp_path: Path) -> None:
    keys = {"LocalAuthorizeOffline": True, "AllowOfflineTxForUnknownId": False}
    async with station_rig(tmp_path, station=LIST, keys=keys) as rig:
        assert await send(rig, "Full", 1, (VALID, OK), (VALID2, {"status": "Expired"})) == \
            "Accepted"
        await rig.cs.disconnect(refuse_for=3)
        await asyncio.sleep(0.3)
        assert (await rig.sim.authorize(VALID)) == OK
        assert (await rig.sim.authorize(VALID2)).get("status") == "Expired"  # listed, refused
        assert (await rig.sim.authorize(INVALID)).get("status") == "Invalid"  # not listed
        rig.sim.set_key("LocalAuthorizeOffline", "false")
        assert (await rig.sim.authorize(VALID)).get("status") == "Invalid"

"""Configuration keys and the other Core CALLs of the CSMS, answered by the simulated station."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_station_support import station_rig

from sim.station import StationConfig


async def test_get_configuration_all_known_and_unknown_keys(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        every = await rig.cs.call("GetConfiguration", {})
        keys = {k["key"]: k for k in every.get("configurationKey")}
        assert keys["SupportedFeatureProfiles"] == {
            "key": "SupportedFeatureProfiles", "readonly": True, "value": "Core"}
        assert keys["NumberOfConnectors"]["value"] == "2"
        assert keys["GetConfigurationMaxKeys"]["value"] == "256"
        assert "AuthorizationCacheEnabled" not in keys  # SmartDC: NA
        assert keys["StopTransactionOnEVSideDisconnect"]["readonly"] is False
        assert keys["MeterValuesSampledData"]["value"].split(",")[0] == (
            "Energy.Active.Import.Register")
        some = await rig.cs.call("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
        assert [k["key"] for k in some.get("configurationKey")] == ["HeartbeatInterval"]
        assert some.get("unknownKey") == ["Nope"]


@pytest.mark.parametrize(("key", "value", "status"), [
    ("MeterValueSampleInterval", "5", "Accepted"),
    ("MeterValueSampleInterval", "-1", "Rejected"),
    ("MeterValueSampleInterval", "often", "Rejected"),
    ("StopTransactionOnInvalidId", "maybe", "Rejected"),
    ("MeterValuesSampledData", "Voltage,Temperature.Bogus", "Rejected"),
    ("NumberOfConnectors", "3", "Rejected"),
    ("Testing", "true", "NotSupported"),
    ("CustomDisplayCostAndPrice", "FALSE", "RebootRequired"),
])
async def test_change_configuration_answers(tmp_path: Path, key: str, value: str, status: str):
    async with station_rig(tmp_path) as rig:
        before = rig.sim.keys[key].value if key in rig.sim.keys else None
        res = await rig.cs.call("ChangeConfiguration", {"key": key, "value": value})
        assert res.get("status") == status
        after = await rig.cs.call("GetConfiguration", {"key": [key]})
        shown = (after.get("configurationKey") or [{"value": None}])[0]["value"]
        assert shown == (value if status in ("Accepted", "RebootRequired") else before)


async def test_other_core_calls(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("DataTransfer", {"vendorId": "com.example"})
        assert res.get("status") == "UnknownVendorId"
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "NotSupported"  # fixed cable
        res = await rig.cs.call("UnlockConnector", {"connectorId": 3})
        assert res.get("status") == "NotSupported"  # no such connector
        res = await rig.cs.call("ClearCache", {})
        assert res.get("status") == "Rejected"  # SmartDC has no cache
        res = await rig.cs.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert res.error is not None and res.error.code == "NotSupported"  # not Core
        res = await rig.cs.call("FlyToTheMoon", {}, validate=False)
        assert res.error is not None and res.error.code == "NotImplemented"
        res = await rig.cs.call("ChangeAvailability", {"connectorId": "one", "type": "x"},
                                validate=False)
        assert res.error is not None and res.error.code == "TypeConstraintViolation"
        res = await rig.cs.call("Reset", {}, validate=False)
        assert res.error is not None and res.error.code == "OccurenceConstraintViolation"
        res = await rig.cs.call("Reset", {"type": "Gentle"}, validate=False)
        assert res.error is not None and res.error.code == "PropertyConstraintViolation"


async def test_socket_station_unlocks_and_stops_with_unlock_command(tmp_path: Path):
    async with station_rig(tmp_path, station={"fixed_cable": False}) as rig:
        await rig.charging(1)
        assert rig.model.connector(1).locked
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "Unlocked"
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "UnlockCommand"
        assert not rig.model.connector(1).locked
    async with station_rig(tmp_path, station={"fixed_cable": False, "lock_fails": True}) as rig:
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "UnlockFailed"


def test_config_file_overrides_the_certificate(tmp_path: Path):
    path = tmp_path / "station.toml"
    path.write_text('[station]\nconnectors = 3\nauthorization_cache = true\n'
                    '[keys]\nHeartbeatInterval = 5\nLocalPreAuthorize = true\n'
                    'MyVendorKey = { value = "x", readonly = true }\n')
    cfg = StationConfig.load(path)
    assert cfg.connectors == 3 and cfg.keys["NumberOfConnectors"].value == "3"
    assert cfg.keys["AuthorizationCacheEnabled"].value == "true"
    assert cfg.keys["HeartbeatInterval"].value == "5"
    assert cfg.keys["LocalPreAuthorize"].value == "true"
    assert cfg.keys["MyVendorKey"].readonly
    assert cfg.vendor == "Flo"
    path.write_text("[station]\nwheels = 4\n")
    with pytest.raises(ValueError, match="wheels"):
        StationConfig.load(path)


async def test_socket_stays_locked_after_ev_unplug_until_unlock_command(tmp_path: Path):
    async with station_rig(tmp_path, station={"fixed_cable": False},
                           keys={"UnlockConnectorOnEVSideDisconnect": False}) as rig:
        await rig.charging(1)
        rig.unplug(1)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "EVDisconnected"
        await asyncio.sleep(0.3)
        assert rig.model.connector(1).locked
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "Unlocked"
        await asyncio.sleep(0.3)
        assert not rig.model.connector(1).locked


def test_station_and_model_must_agree_on_connectors():
    from sim.model import RigModel
    from sim.station import StationSimulator

    with pytest.raises(ValueError, match="connectors"):
        StationSimulator(StationConfig.smartdc(), RigModel(3), None, "ws://127.0.0.1:1/x")

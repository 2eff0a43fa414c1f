"""Boot, heartbeat and reconnection of the simulated station."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_station_support import station_rig, wait_until

from bench.csms.responders import utc_timestamp


def boot_answers(*statuses: tuple[str, int]):
    """A BootNotification responder giving these (status, interval) in turn, then Accepted."""
    queue = list(statuses)

    def answer(_payload):
        status, interval = queue.pop(0) if queue else ("Accepted", 60)
        return {"status": status, "interval": interval, "currentTime": utc_timestamp()}

    return answer


async def test_boot_payload_is_the_smartdc_certificate(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        boot = await rig.cs.expect("BootNotification", within=5)
        assert boot.payload["chargePointVendor"] == "Flo"
        assert boot.payload["chargePointModel"] == "SmartDC"
        assert boot.payload["firmwareVersion"] == "v8.8.15"
        statuses = [await rig.cs.expect("StatusNotification", {"connectorId": n}, 5)
                    for n in (0, 1, 2)]
        assert all(s.payload["status"] == "Available" for s in statuses)
        assert len(statuses[0].payload["timestamp"].split(".")[1]) == 4  # milliseconds + Z


async def test_rejected_boot_is_retried_after_the_interval(tmp_path: Path):
    answers = boot_answers(("Rejected", 2))
    async with station_rig(tmp_path, overrides={"BootNotification": answers}) as rig:
        first = await rig.cs.expect("BootNotification", within=5)
        second = await rig.cs.expect("BootNotification", within=5)
        assert (second.mono_ns - first.mono_ns) / 1e9 >= 1.8
        await rig.cs.expect("StatusNotification", {"connectorId": 0}, 5)


async def test_pending_boot_serves_configuration_then_boots_again(tmp_path: Path):
    answers = boot_answers(("Pending", 2))
    async with station_rig(tmp_path, overrides={"BootNotification": answers},
                           boot=False) as rig:
        first = await rig.cs.expect("BootNotification", within=5)
        await wait_until(lambda: rig.sim.boot_status == "Pending", 5, "Pending")
        got = await rig.cs.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        assert got.get("configurationKey")[0]["key"] == "HeartbeatInterval"
        changed = await rig.cs.call("ChangeConfiguration",
                                    {"key": "MeterValueSampleInterval", "value": "7"})
        assert changed.get("status") == "Accepted"
        second = await rig.cs.expect("BootNotification", within=5)
        assert (second.mono_ns - first.mono_ns) / 1e9 >= 1.8
        await rig.cs.expect("StatusNotification", {"connectorId": 0, "status": "Available"}, 5)
        assert rig.sim.key("MeterValueSampleInterval") == "7"


async def test_heartbeat_follows_the_boot_interval_and_resets_on_traffic(tmp_path: Path):
    async with station_rig(tmp_path, heartbeat_s=1) as rig:
        await wait_until(lambda: rig.sim.key("HeartbeatInterval") == "1", 5, "interval 1")
        first = await rig.cs.expect("Heartbeat", within=5)
        second = await rig.cs.expect("Heartbeat", within=5)
        assert 0.8 <= (second.mono_ns - first.mono_ns) / 1e9 <= 2.0
        with rig.cs.forbid("Heartbeat"):  # other traffic keeps the link busy
            for _ in range(6):
                await rig.cs.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
                await asyncio.sleep(0.2)
        await rig.cs.expect("Heartbeat", within=5)


async def test_network_cut_reconnects_without_a_new_boot(tmp_path: Path):
    async with station_rig(tmp_path, heartbeat_s=1) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.0)
        await rig.cs.wait_reconnected(10)
        await rig.cs.expect("Heartbeat", within=5, after=rig.cs.connected_mono_ns)
        assert rig.cs.session.boot_count == 1

"""The endpoint built from a real rig file (bench.config.rig), in-process and as `bench serve`."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_csms_support import bench_serve, boot, exchange
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record import RunRecord

SIM_RIG = Path(__file__).resolve().parents[1] / "rigs" / "sim.toml"


@pytest.fixture
def rig():
    return load_rig(SIM_RIG)


async def test_from_rig_takes_identity_cards_and_interval(tmp_path, rig):
    record = RunRecord.create(tmp_path, "rig")
    csms = Csms.from_rig(rig, record, port=0)
    await csms.start()
    try:
        sid = rig.station.id
        with pytest.raises(InvalidStatus) as e:  # only the rig's station is admitted
            async with connect(f"{csms.url}/SOMEONE-ELSE", subprotocols=["ocpp1.6"], proxy=None):
                pass
        assert e.value.response.status_code == 404
        async with connect(f"{csms.url}/{sid}", subprotocols=["ocpp1.6"], proxy=None) as ws:
            b = await boot(ws)
            assert b[2]["interval"] == rig.csms.heartbeat_interval_s
            for card in rig.cards.values():
                r = await exchange(ws, [2, card.tag, "Authorize", {"idTag": card.id_tag}])
                assert r[2]["idTagInfo"]["status"] == card.status
                if card.parent:
                    assert r[2]["idTagInfo"]["parentIdTag"]
            station = await csms.wait_for_station(sid, timeout=2)
        assert station.booted
    finally:
        await csms.stop()
        record.close()


async def test_bench_serve_with_rig(tmp_path, rig):
    async with bench_serve(tmp_path, "--rig", str(SIM_RIG), "--quiet") as (_proc, url):
        with pytest.raises(InvalidStatus):
            async with connect(f"{url}/SOMEONE-ELSE", subprotocols=["ocpp1.6"], proxy=None):
                pass
        async with connect(f"{url}/{rig.station.id}", subprotocols=["ocpp1.6"], proxy=None) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"
    (run_dir,) = list(tmp_path.iterdir())
    assert (run_dir / "snapshots" / "rig.json").exists()


async def test_bench_serve_any_station_with_rig(tmp_path, rig):
    async with bench_serve(tmp_path, "--rig", str(SIM_RIG), "--any-station", "--quiet") as (_, url):
        async with connect(f"{url}/SOMEONE-ELSE", subprotocols=["ocpp1.6"], proxy=None) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"

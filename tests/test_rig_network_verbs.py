"""Network verbs on the simulated rig: the csms-side driver cuts the station's connection
through the CSMS session API and the station comes back after the refusal window."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record.reader import load_run
from bench.record.writer import RunRecord
from bench.verbs import Bench
from instruments.errors import InstrumentError
from sim.testing import SimRigProcess

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
async def test_cut_and_restore_network(tmp_path: Path, pcscd_binary: str,
                                       vpcd_driver: str) -> None:
    rig = load_rig(ROOT / "rigs" / "sim.toml")
    record = RunRecord.create(tmp_path, "network")
    csms = Csms.from_rig(rig, record, port=0)
    await csms.start()
    sim = SimRigProcess(["--csms-url", csms.url], cwd=ROOT)
    try:
        endpoints = await asyncio.to_thread(sim.start)
        bench = Bench.from_rig(rig.with_ports(endpoints), record, csms)
        await bench.activate()
        station = await csms.wait_for_station(rig.station.id, timeout=30, boot=True)
        cut = await bench.cut_network(1.0)
        assert not station.connected
        assert station.refused_for_s() is not None
        started = time.monotonic()
        restored = await bench.restore_network(reconnect_timeout_s=30)
        assert time.monotonic() - started >= 0.5  # waited out the refusal window
        assert station.connected
        assert restored > cut
        await bench.deactivate()
    finally:
        await asyncio.to_thread(sim.close)
        await csms.stop()
        record.close()
    verbs = {e["name"]: e for e in load_run(record.path).events if e["kind"] == "verb"}
    assert verbs["cut_network"]["detail"]["commanded"] == {"seconds": 1.0, "driver": "csms-side"}
    assert verbs["cut_network"]["mono_ns"] == cut


async def test_network_cut_without_csms_is_a_case_error(tmp_path: Path) -> None:
    rig = load_rig(ROOT / "rigs" / "sim.toml")
    bench = Bench.from_rig(rig, record=None)  # not activated: the network driver needs no I/O
    with pytest.raises(InstrumentError, match="network cut needs the CSMS") as info:
        await bench.cut_network(5)
    assert info.value.fatal is False
    assert bench.broken is None

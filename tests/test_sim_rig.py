"""`bench sim --ephemeral` as a subprocess against the bench's CSMS, driven from outside
through the real transports: Modbus (EV twin, mains coil), SCPI (meter), vpcd (card)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pyvisa
from pymodbus.client import AsyncModbusTcpClient

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record import RunRecord
from sim.testing import SimRigProcess, VpcdCard, running_sim_rig
from sim.twins.regmap import load_register_map

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RIG_FILE = ROOT / "rigs" / "sim.toml"
RIG = load_rig(RIG_FILE)
MAP = load_register_map("bench-ev-v1")
A = {name: reg.address for name, reg in MAP.registers.items()}
EV1 = RIG.instruments["ev1"].params["device_id"]
MAINS = RIG.instruments["mains"].params["device_id"]
NOISE_PCT = RIG.simulator.meter_noise_pct
VALID = RIG.card("valid").uid


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


@pytest.fixture
async def bench(tmp_path, real_parts):
    """The bench's CSMS on an ephemeral port, the simulated rig connected to it, and a Modbus
    client on the twins. Everything is stopped and reaped whatever the test does."""
    record = RunRecord.create(tmp_path / "runs", "sim-e2e")
    csms = Csms.from_rig(RIG, record, port=0)
    await csms.start()
    try:
        async with running_sim_rig(csms.url, cwd=ROOT) as rig:
            endpoints = rig.endpoints
            station = await csms.wait_for_station(endpoints["station_id"], timeout=15)
            modbus = AsyncModbusTcpClient("127.0.0.1", port=endpoints["modbus"]["port"],
                                          timeout=2, retries=1)
            await modbus.connect()
            try:
                yield csms, station, endpoints, modbus, rig
            finally:
                modbus.close()
    finally:
        await csms.stop()
        record.close()


async def write(modbus, name: str, raw: int) -> None:
    rr = await modbus.write_register(A[name], raw, device_id=EV1)
    assert not rr.isError(), f"write {name}={raw}: {rr}"


def meter_session(resource: str):
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(resource, read_termination="\n", write_termination="\n",
                            timeout=3000)
    return rm, inst


async def configure(station, **keys: str) -> None:
    for key, value in keys.items():
        res = await station.call("ChangeConfiguration", {"key": key, "value": value}, timeout=5)
        assert res.payload == {"status": "Accepted"}, f"{key}={value}: {res}"


async def test_plug_in_and_card_reach_the_csms(bench):
    _, station, endpoints, modbus, _ = bench
    await write(modbus, "plugged", 1)
    await write(modbus, "cp_state_request", MAP.enums["cp_state_request"]["B"])
    await station.expect("StatusNotification", match={"connectorId": 1, "status": "Preparing"},
                         within=10)
    async with VpcdCard(VALID, endpoints["vpcd"]["port"]):
        msg = await station.expect("Authorize", within=10)
    assert msg.payload == {"idTag": VALID}
    await station.expect("StartTransaction", match={"connectorId": 1, "idTag": VALID},
                         within=10)


async def test_mains_coil_cuts_the_station_and_it_boots_again(bench):
    csms, station, _, modbus, _ = bench
    rr = await modbus.write_coil(0, False, device_id=MAINS)
    assert not rr.isError()
    deadline = asyncio.get_running_loop().time() + 10
    while station.connected:
        assert asyncio.get_running_loop().time() < deadline, "the socket did not drop"
        await asyncio.sleep(0.05)
    rr = await modbus.read_holding_registers(A["cp_state"], count=1, device_id=EV1)
    assert rr.registers == [MAP.enums["cp_state"]["E"]], "no supply: no CP generator"
    power_on_ns = time.monotonic_ns()
    await modbus.write_coil(0, True, device_id=MAINS)
    await station.expect("BootNotification", within=15, after=power_on_ns)
    await csms.wait_for_station(RIG.station.id, timeout=10)


async def test_session_energy_of_meter_twin_and_station_register_agree(bench):
    _, station, endpoints, modbus, _ = bench
    await configure(station, MeterValueSampleInterval="1",
                    MeterValuesSampledData="Energy.Active.Import.Register,Current.Import")
    rm, meter = await asyncio.to_thread(meter_session, endpoints["scpi"]["resource"])
    try:
        for command in ("*RST", "*CLS", "INT:RES", "INT:STAR"):
            await asyncio.to_thread(meter.write, command)
        assert await asyncio.to_thread(meter.query, "INT:STAT?") == "RUN"
        rr = await modbus.write_registers(A["plugged"], [1, 2, 1, 1500, 8000], device_id=EV1)
        assert not rr.isError()  # plugged, state C, allow power, 150 A, 800 V
        async with VpcdCard(VALID, endpoints["vpcd"]["port"]):
            await station.expect("StartTransaction", match={"idTag": VALID}, within=10)
        volts = float(await asyncio.to_thread(meter.query, "MEAS:VOLT?"))
        assert abs(volts - 800.0) <= 800.0 * NOISE_PCT / 100
        # let energy flow for a few samples, then the EV pauses: no more current
        for _ in range(2):
            await station.expect("MeterValues", within=5)
        await write(modbus, "pause", 1)
        register = None
        for _ in range(8):  # periodic samples carry both; clock-aligned ones may not
            msg = await station.expect("MeterValues", within=5)
            values = {v.get("measurand"): float(v["value"])
                      for v in msg.payload["meterValue"][0]["sampledValue"]}
            if values.get("Current.Import") == 0.0:
                register = values["Energy.Active.Import.Register"]
                break
        assert register is not None, "no MeterValues with the current at 0 after the pause"
        await asyncio.to_thread(meter.write, "INT:STOP")
        energy = float(await asyncio.to_thread(meter.query, "INT:ENER?"))
        assert await asyncio.to_thread(meter.query, "SYST:ERR?") == '0,"No error"'
    finally:
        await asyncio.to_thread(meter.close)
        await asyncio.to_thread(rm.close)
    assert register > 20.0, f"too little energy for the comparison: {register} Wh"
    # the register started at 0 in this fresh rig; it is printed with 0.1 Wh resolution
    assert abs(energy - register) <= register * NOISE_PCT / 100 + 0.05, (energy, register)


def run_sim(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "bench.cli", "sim", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def test_bad_rig_file_is_named_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(RIG_FILE.read_text().replace("security_profile = 0", "security_profile = 5"))
    res = run_sim("--rig", str(bad), "--ephemeral", "--no-station")
    assert res.returncode == 2, res
    assert "bad.toml" in res.stderr and "security_profile" in res.stderr
    res = run_sim("--rig", str(tmp_path / "missing.toml"))
    assert res.returncode == 2 and "missing.toml" in res.stderr


def test_port_in_use_is_named_and_exit_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rig = tmp_path / "rig.toml"
        rig.write_text(RIG_FILE.read_text().replace("port = 15020", f"port = {port}"))
        res = run_sim("--rig", str(rig), "--no-station")
    assert res.returncode == 2, res
    assert f"127.0.0.1:{port}" in res.stderr and "in use" in res.stderr


def test_pcscd_missing_is_named_and_exit_2():
    res = run_sim("--ephemeral", "--no-station", env={"BENCH_PCSCD": "/nonexistent/pcscd"})
    assert res.returncode == 2, res
    assert "pcscd not found" in res.stderr


def test_list_faults_prints_one_profile_per_line():
    from sim.station.faults import FAULTS

    res = run_sim("--list-faults")
    assert res.returncode == 0
    lines = res.stdout.strip().splitlines()
    assert len(lines) == len(FAULTS)
    for line in lines:
        name, _, what = line.partition(" ")
        assert name in FAULTS and what.strip()


def test_unknown_fault_is_refused():
    res = run_sim("--ephemeral", "--fault", "no_such_fault")
    assert res.returncode == 2 and "no_such_fault" in res.stderr




def test_sigint_stops_the_rig_and_its_pcscd(tmp_path, real_parts):
    endpoints_file = tmp_path / "endpoints.json"
    rig = SimRigProcess(["--no-station", "--endpoints-file", str(endpoints_file)], cwd=ROOT)
    try:
        endpoints = rig.start()
        assert json.loads(endpoints_file.read_text()) == endpoints
        socket_path = Path(endpoints["pcscd_socket"])
        assert socket_path.exists()
        rig.proc.send_signal(signal.SIGINT)
        assert rig.proc.wait(10) == 0
        assert not socket_path.exists(), "pcscd's private directory must be gone"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", endpoints["modbus"]["port"]), timeout=1)
    finally:
        rig.close()

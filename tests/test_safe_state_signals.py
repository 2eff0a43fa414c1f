"""SIGTERM and SIGINT to a bench process in the middle of a charging session on the simulated
rig: the rig must reach safe state (checked on the twins with a plain pymodbus client and a
raw SCPI socket) and the record must say so.

The bench process is BENCH_PROCESS below (CSMS + Bench built from the rig + a charging
session, like `bench run` does it); the simulated rig is `bench sim --ephemeral`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from bench.record.reader import load_run
from sim.testing import SimRigProcess

ROOT = Path(__file__).resolve().parent.parent

BENCH_PROCESS = r'''
import asyncio, json, sys, time
from pathlib import Path
from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record.writer import RunRecord
from bench.safestate import bring_to_safe_state, signals_cancel_main_task
from bench.verbs import Bench

rig_path, endpoints_path, runs_dir = sys.argv[1:4]

async def wait_file(path, within):
    deadline = time.monotonic() + within
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no endpoints file {path} within {within} s")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    return json.loads(Path(path).read_text())

async def main():
    rig = load_rig(rig_path)
    record = RunRecord.create(runs_dir, "signal")
    print("RUN", record.path, flush=True)
    csms = Csms.from_rig(rig, record, port=0)
    await csms.start()
    print("CSMS", csms.url, flush=True)
    bench = None
    status = "error"
    with signals_cancel_main_task() as interrupted:
        try:
            rig = rig.with_ports(await wait_file(endpoints_path, 30))
            bench = Bench.from_rig(rig, record, csms)
            await bench.activate()
            station = await csms.wait_for_station(rig.station.id, timeout=30, boot=True)
            bench.attach_station(station)
            plugged = await bench.plug_in(1)
            await bench.ev_start_charging(1, current_a=100, voltage_v=400)
            await bench.present_card("valid", hold_s=0.5)
            await station.expect("StartTransaction", match={"connectorId": 1}, within=30,
                                 after=plugged)
            deadline = time.monotonic() + 20
            while not (await bench.ev_state(1)).contactor_closed:
                if time.monotonic() > deadline:
                    raise TimeoutError("contactor never closed")
                await asyncio.sleep(0.1)
            await bench.energy_window_start(1)
            await bench.present_card("valid2")  # a card lies on the reader when the signal comes
            print("CHARGING", flush=True)
            await asyncio.sleep(120)
            status = "complete"
        except asyncio.CancelledError:
            status = "interrupted"
        except Exception as exc:
            record.event("log", "run-error", error=f"{type(exc).__name__}: {exc}")
            print("ERROR", exc, flush=True)
        finally:
            if bench is not None:
                report = await bring_to_safe_state(bench, record)
                await bench.deactivate()
                print("SAFE", report.ok, flush=True)
            await csms.stop()
            record.update_meta(interrupted_by=interrupted.signal)
            record.close(status)
    return 0 if status in ("complete", "interrupted") else 1

sys.exit(asyncio.run(main()))
'''


def read_line(proc: subprocess.Popen[str], prefix: str, within: float, seen: list[str]) -> str:
    deadline = time.monotonic() + within
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if line.startswith(prefix):
            return line[len(prefix):].strip()
        if line.startswith("ERROR"):
            break
    raise AssertionError(f"bench process: no {prefix!r} line within {within} s; said {seen}")


async def read_ev(port: int, device_id: int) -> list[int]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=1)
    try:
        assert await client.connect(), f"no Modbus twin at 127.0.0.1:{port}"
        rr = await client.read_holding_registers(0, count=10, device_id=device_id)
        assert not rr.isError(), rr
        return list(rr.registers)
    finally:
        client.close()


async def scpi(port: int, command: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((command + "\n").encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 2)).decode().strip()
    finally:
        writer.close()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_charging_reaches_safe_state(signum: int, tmp_path: Path,
                                                pcscd_binary: str, vpcd_driver: str) -> None:
    endpoints_file = tmp_path / "endpoints.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    bench = subprocess.Popen(
        [sys.executable, "-c", BENCH_PROCESS, str(ROOT / "rigs" / "sim.toml"),
         str(endpoints_file), str(tmp_path / "runs")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    try:
        run_dir = Path(read_line(bench, "RUN ", 20, said))
        csms_url = read_line(bench, "CSMS ", 20, said)
        with SimRigProcess(["--csms-url", csms_url, "--endpoints-file", str(endpoints_file)],
                           cwd=ROOT) as sim:
            read_line(bench, "CHARGING", 60, said)
            registers = asyncio.run(read_ev(sim.endpoints["modbus"]["port"], 1))
            assert registers[0] == 1 and registers[2] == 1 and registers[3] == 1000  # charging
            assert asyncio.run(scpi(sim.endpoints["scpi"]["port"], "INT:STAT?")) == "RUN"

            bench.send_signal(signum)
            safe = read_line(bench, "SAFE ", 30, said)
            assert bench.wait(30) == 0, said
            assert safe == "True", said

            # the twins, read by plain clients: EV unplugged, no request, power not allowed
            for device_id in (1, 2):
                regs = asyncio.run(read_ev(sim.endpoints["modbus"]["port"], device_id))
                assert regs[0] == 0, f"device {device_id} still plugged: {regs}"
                assert regs[1] == 0, f"device {device_id} CP request not A: {regs}"
                assert regs[2] == 0, f"device {device_id} power still allowed: {regs}"
                assert regs[3] == 0, f"device {device_id} current still requested: {regs}"
            assert asyncio.run(scpi(sim.endpoints["scpi"]["port"], "INT:STAT?")) == "STOP"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(10)
        if bench.stdout is not None:
            bench.stdout.close()

    run = load_run(run_dir)
    assert run.meta["status"] == "interrupted"
    assert run.meta["interrupted_by"] == signal.Signals(signum).name
    steps = {e["name"]: e["detail"] for e in run.events if e["kind"] == "safe_state"}
    for step in ("ev1.power_not_allowed", "ev1.no_current_request", "ev1.unplugged",
                 "ev2.unplugged", "card.removed", "meter.integrator_stopped"):
        assert steps[step]["ok"] is True, (step, steps[step])
    assert steps["card.removed"]["readback"] == {"presented": None}
    assert steps["done"]["ok"] is True
    verbs = [e["name"] for e in run.events if e["kind"] == "verb"]
    assert verbs[:3] == ["plug_in", "ev_start_charging", "present_card"]
    assert json.dumps(run.snapshots["instruments"])  # identities recorded

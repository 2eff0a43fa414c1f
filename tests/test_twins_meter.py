"""The power meter twin through pyvisa + pyvisa-py as a TCPIP SOCKET resource."""

from __future__ import annotations

import asyncio

import pytest
import pyvisa

from sim.model import RigModel
from sim.twins.errors import TwinServerError
from sim.twins.meter import MeterTwin

NOISE_PCT = 0.05


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def meter():
    clock = Clock()
    model = RigModel(connectors=2, clock=clock)
    twin = MeterTwin(model, connector=1, noise_pct=NOISE_PCT, seed=7)
    await twin.start()
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(twin.resource, read_termination="\n", write_termination="\n",
                            timeout=2000)
    try:
        yield model, clock, twin, inst
    finally:
        inst.close()
        rm.close()
        await twin.stop()


async def query(inst, command: str) -> str:
    return await asyncio.to_thread(inst.query, command)


async def write(inst, command: str) -> None:
    """Write, then wait until the twin has executed it (*OPC? answers after it)."""
    await asyncio.to_thread(inst.write, command)
    assert await query(inst, "*OPC?") == "1"


def session(model: RigModel, amps: float = 100.0, volts: float = 400.0) -> None:
    c = model.connector(1)
    c.plugged, c.cp_request, c.allow_power = True, "C", True
    c.requested_current_a, c.target_voltage_v = amps, volts
    c.pwm_duty_pct, c.offered_current_a, c.contactor_closed = 5.0, 200.0, True


def near(reading: str, true: float) -> bool:
    return abs(float(reading) - true) <= abs(true) * NOISE_PCT / 100 + 1e-9


async def test_identity_and_resource_string(meter):
    _, _, twin, inst = meter
    assert twin.resource == f"TCPIP::127.0.0.1::{twin.port}::SOCKET"
    assert await query(inst, "*IDN?") == "BENCHSIM,PM-SIM,SIM0001,1.0"


async def test_measurements_follow_the_model_within_the_noise(meter):
    model, _, _, inst = meter
    assert float(await query(inst, "MEAS:VOLT?")) == 0.0
    session(model)
    for command, true in (("MEAS:VOLT?", 400.0), ("MEASure:CURRent?", 100.0),
                          (":meas:pow?", 40000.0)):
        reply = await query(inst, command)
        assert "E+" in reply, f"{command}: {reply!r} is not %.6E"
        assert near(reply, true), f"{command}: {reply} vs {true}"
    model.connector(1).pause = True
    assert float(await query(inst, "MEAS:CURR?")) == 0.0


async def test_integrator_counts_only_while_running(meter):
    model, clock, _, inst = meter
    assert await query(inst, "INT:STAT?") == "RESET"
    session(model)  # 40 kW
    clock.t += 10
    await write(inst, "INTegrate:STARt")
    assert await query(inst, "INT:STAT?") == "RUN"
    clock.t += 90  # 1000 Wh
    assert near(await query(inst, "INT:ENER?"), 1000.0)
    await write(inst, "INT:STOP")
    assert await query(inst, "INT:STAT?") == "STOP"
    clock.t += 90
    assert near(await query(inst, "INT:ENER?"), 1000.0), "stopped: no counting"
    await write(inst, "INT:STAR")
    clock.t += 45
    assert near(await query(inst, "INT:ENER?"), 1500.0), "a restart continues the count"
    await write(inst, "INT:RES")
    assert await query(inst, "INT:STAT?") == "RESET"
    assert float(await query(inst, "INT:ENER?")) == 0.0
    await write(inst, "INT:STAR")
    await write(inst, "*RST")
    assert await query(inst, "INT:STAT?") == "RESET"


async def test_error_queue(meter):
    _, _, twin, inst = meter
    await write(inst, "BOGUS:CMD")
    await write(inst, "MEAS:VOLT? 3")
    assert await query(inst, "*IDN?") == "BENCHSIM,PM-SIM,SIM0001,1.0", "no reply to bad input"
    assert await query(inst, "SYST:ERR?") == '-113,"Undefined header"'
    assert await query(inst, "SYSTem:ERRor?") == '-113,"Undefined header"'
    assert await query(inst, "SYST:ERR?") == '0,"No error"'
    await write(inst, "NOPE")
    await write(inst, "*CLS")
    assert await query(inst, "SYST:ERR?") == '0,"No error"'
    assert twin.errors == []


async def test_injected_silence_times_the_driver_out(meter):
    _, _, twin, inst = meter
    twin.faults.no_answer = True
    inst.timeout = 200
    with pytest.raises(pyvisa.errors.VisaIOError):
        await query(inst, "*IDN?")
    twin.faults.no_answer = False


async def test_port_in_use_names_the_address():
    model = RigModel(1)
    first = MeterTwin(model)
    await first.start()
    try:
        with pytest.raises(TwinServerError, match=rf"127\.0\.0\.1:{first.port}.*in use"):
            await MeterTwin(model, port=first.port).start()
    finally:
        await first.stop()

"""SCPI power meter driver: generic dialect against the meter twin (pyvisa-py over a real
socket), every dialect against exact expected traffic, and the faults (silent, refused)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from instruments.errors import InstrumentError, NotSupported
from instruments.mains import ScpiSourceMains
from instruments.scpi_meter import ScpiPowerMeter
from instruments.testing import ScriptedScpiServer
from sim.model import RigModel
from sim.twins.meter import MeterTwin

IDN = "ACME,PA-1,SN1,1.0"
NO_ERR = '0,"No error"'


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def twin() -> AsyncIterator[tuple[MeterTwin, RigModel, Clock]]:
    clock = Clock()
    model = RigModel(connectors=1, clock=clock)
    meter = MeterTwin(model, connector=1, noise_pct=0.0, port=0)
    await meter.start()
    try:
        yield meter, model, clock
    finally:
        await meter.stop()


def charging(model: RigModel) -> None:
    c = model.connector(1)
    c.plugged = True
    c.target_voltage_v = 400.0
    c.requested_current_a = 50.0
    c.allow_power = True
    c.cp_request = "C"
    c.offered_current_a = 100.0
    c.pwm_duty_pct = 5.0
    c.contactor_closed = True
    model.tick()


async def test_generic_against_twin(twin: tuple[MeterTwin, RigModel, Clock]) -> None:
    meter_twin, model, clock = twin
    meter = ScpiPowerMeter("meter", meter_twin.resource, "@py", "generic", 1, timeout_s=1.0)
    ident = await meter.activate()
    try:
        assert ident.identity == "BENCHSIM,PM-SIM,SIM0001,1.0"
        assert ident.details["errors"] == []
        charging(model)
        c = model.connector(1)
        reading = await meter.read()
        assert reading.voltage_v == pytest.approx(c.voltage_v, rel=1e-5)
        assert reading.current_a == pytest.approx(c.current_a, rel=1e-5)
        assert reading.power_w == pytest.approx(c.power_w, rel=1e-5)
        await meter.integrator_reset()
        assert await meter.integrator_state() == "RESET"
        await meter.integrator_start()
        assert await meter.integrator_state() == "RUN"
        clock.t += 36.0  # 1/100 h
        await meter.integrator_stop()
        assert await meter.integrator_state() == "STOP"
        expected_wh = c.power_w * 36.0 / 3600.0
        assert await meter.energy_wh() == pytest.approx(expected_wh, rel=1e-3)
        assert expected_wh > 0
    finally:
        await meter.deactivate()


async def test_error_queue_drained_and_reported(twin: tuple[MeterTwin, RigModel, Clock]) -> None:
    meter_twin, _, _ = twin
    meter_twin.errors += [(-113, "Undefined header"), (-222, "Data out of range")]
    meter = ScpiPowerMeter("meter", meter_twin.resource, timeout_s=1.0)
    ident = await meter.activate(readonly=True)  # bench check: report, configure nothing
    try:
        assert ident.details["errors"] == ['-113,"Undefined header"', '-222,"Data out of range"']
        assert meter_twin.errors == []
    finally:
        await meter.deactivate()


async def test_meter_silent_is_error_naming_resource(
        twin: tuple[MeterTwin, RigModel, Clock]) -> None:
    meter_twin, _, _ = twin
    meter_twin.faults.no_answer = True
    meter = ScpiPowerMeter("meter", meter_twin.resource, timeout_s=0.3)
    with pytest.raises(InstrumentError) as info:
        await meter.activate()
    msg = str(info.value)
    assert f"meter at {meter_twin.resource}" in msg
    assert "*IDN?" in msg and "no answer within 0.3 s" in msg
    assert not meter.active


async def test_meter_refused_is_error_naming_resource() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    meter = ScpiPowerMeter("meter", resource, timeout_s=0.5)
    with pytest.raises(InstrumentError) as info:
        await meter.activate()
    assert f"meter at {resource}" in str(info.value)
    assert "refused" in str(info.value).lower()


async def run_script(dialect: str, script: list[tuple[str, str | None]], actions,
                     channel: int = 1):  # type: ignore[no-untyped-def]
    async with ScriptedScpiServer(script) as srv:
        meter = ScpiPowerMeter("meter", srv.resource, "@py", dialect, 1, channel, timeout_s=0.5)
        await meter.activate()
        try:
            result = await actions(meter)
        finally:
            await meter.deactivate()
    srv.assert_done()
    return result


async def test_generic_exact_traffic() -> None:
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        r = await m.read()
        await m.integrator_reset()
        await m.integrator_start()
        return r, await m.energy_wh()

    r, wh = await run_script("generic", [
        ("*IDN?", IDN), ("SYST:ERR?", NO_ERR), ("*CLS", None), ("SYST:ERR?", NO_ERR),
        ("MEAS:VOLT?", "4.000000E+02"), ("MEAS:CURR?", "5.000000E+01"),
        ("MEAS:POW?", "2.000000E+04"), ("INT:RES", None), ("INT:STAR", None),
        ("INT:ENER?", "1.250000E+01"),
    ], actions)
    assert (r.voltage_v, r.current_a, r.power_w) == (400.0, 50.0, 20000.0)
    assert wh == 12.5


async def test_yokogawa_exact_traffic() -> None:
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        r = await m.read()
        await m.integrator_reset()
        await m.integrator_start()
        state = await m.integrator_state()
        await m.integrator_stop()
        await m.integrator_stop()  # already stopped: guarded, no INTEG:STOP sent
        return r, state, await m.energy_wh()

    r, state, wh = await run_script("yokogawa-wt", [
        ("*IDN?", "YOKOGAWA,WT310E,C2QF00001,F1.03"), (":STATus:ERRor?", NO_ERR),
        (":COMMunicate:REMote ON", None), (":NUMeric:FORMat ASCII", None),
        (":NUMeric:NORMal:NUMBer 4", None), (":NUMeric:NORMal:ITEM1 U,2", None),
        (":NUMeric:NORMal:ITEM2 I,2", None), (":NUMeric:NORMal:ITEM3 P,2", None),
        (":NUMeric:NORMal:ITEM4 WH,2", None), (":INTEGrate:MODE NORMal", None),
        (":STATus:ERRor?", NO_ERR),
        (":NUMeric:NORMal:VALue?", "230.12E+00,1.5E+00,345.1E+00,0.0E+00"),
        ("INTEG:RESet", None), ("INTEG:STARt", None), ("INTEG:STATe?", "STARt"),
        ("INTEG:STATe?", "STARt"), ("INTEG:STOP", None), ("INTEG:STATe?", "STOP"),
        (":NUMeric:NORMal:VALue?", "230.1E+00,1.5E+00,345.1E+00,1.2345E+00"),
        (":COMMunicate:REMote OFF", None),
    ], actions, channel=2)
    assert (r.voltage_v, r.current_a, r.power_w) == (230.12, 1.5, 345.1)
    assert state == "RUN"
    assert wh == 1.2345


async def test_hmc8015_exact_traffic() -> None:
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        await m.integrator_reset()
        await m.integrator_start()
        r = await m.read()
        await m.integrator_stop()
        return r, await m.integrator_state(), await m.energy_wh()

    r, state, wh = await run_script("rs-hmc8015", [
        ("*IDN?", "Rohde&Schwarz,HMC8015,123456,01.100"), ("SYST:ERR?", NO_ERR),
        ("SYST:REM", None), ("CHAN1:MEAS:FUNC URMS,IRMS,P,WH", None), ("INT:MODE MAN", None),
        ("INT:STAT ON", None), ("SYST:ERR?", NO_ERR),
        ("INT:RES", None), ("INT:STAR", None),
        ("CHAN1:MEAS:DATA?", "2.301E+02,1.000E+00,2.301E+02,5.000E-01"),
        ("INT:STOP", None),
        ("CHAN1:MEAS:DATA?", "2.301E+02,1.000E+00,2.301E+02,7.500E-01"),
        ("SYST:LOC", None),
    ], actions)
    assert r.power_w == 230.1 and state == "STOP" and wh == 0.75


async def test_hioki_exact_traffic_and_unsupported_integrator() -> None:
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        r = await m.read()
        with pytest.raises(NotSupported, match="integrator start is not in the hioki-pw"):
            await m.integrator_start()
        return r

    r = await run_script("hioki-pw", [
        ("*IDN?", "HIOKI,PW3390-03,123456789,V1.00"), (":HEADer OFF", None),
        (":MEASure? U1", "+230.00E+0"), (":MEASure? I1", "U1 +2.0000E+0"),
        (":MEASure? P1", "+460.00E+0"),
    ], actions)
    assert (r.voltage_v, r.current_a, r.power_w) == (230.0, 2.0, 460.0)


async def test_zes_exact_traffic() -> None:
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        return await m.read()

    r = await run_script("zes-lmg", [
        ("*IDN?", "ZES ZIMMER,LMG670,01234,4.123"), ("*zlang short", None),
        ("actn;utrms3?;itrms3?;p3?", "230.5;10.25;2362.6"), ("*zlang scpi", None),
    ], actions, channel=3)
    assert (r.voltage_v, r.current_a, r.power_w) == (230.5, 10.25, 2362.6)


async def test_setup_error_fails_activation() -> None:
    async with ScriptedScpiServer([
        ("*IDN?", IDN), ("SYST:ERR?", NO_ERR), ("*CLS", None),
        ("SYST:ERR?", '-113,"Undefined header"'), ("SYST:ERR?", NO_ERR),
    ]) as srv:
        meter = ScpiPowerMeter("meter", srv.resource, timeout_s=0.5)
        with pytest.raises(InstrumentError, match=r"setup left errors.*-113"):
            await meter.activate()
    srv.assert_done()


async def test_garbage_answer_names_query() -> None:
    async with ScriptedScpiServer([
        ("*IDN?", IDN), ("SYST:ERR?", NO_ERR), ("*CLS", None), ("SYST:ERR?", NO_ERR),
        ("MEAS:VOLT?", "OVERLOAD"),
    ]) as srv:
        meter = ScpiPowerMeter("meter", srv.resource, timeout_s=0.5)
        await meter.activate()
        with pytest.raises(InstrumentError, match=r"meter at .*MEAS:VOLT\? answered 'OVERLOAD'"):
            await meter.read()
        await meter.deactivate()


async def test_scpi_source_mains_exact_traffic() -> None:
    async with ScriptedScpiServer([
        ("*IDN?", "EA,PSB 9080-120,1,2"), ("SYST:ERR?", NO_ERR), ("OUTP OFF", None),
        ("OUTP?", "0"), ("OUTP ON", None), ("OUTP?", "ON"),
    ]) as srv:
        mains = ScpiSourceMains("mains", srv.resource, timeout_s=0.5)
        await mains.activate()
        await mains.off()
        assert await mains.state() is False
        await mains.on()
        assert await mains.state() is True
        await mains.deactivate()
    srv.assert_done()


PYVISA_SIM_YAML = """
spec: "1.1"
devices:
  meter:
    eom:
      TCPIP SOCKET:
        q: "\\n"
        r: "\\n"
    error:
      error_queue:
        - q: "SYST:ERR?"
          default: '0,"No error"'
          command_error: '-113,"Undefined header"'
    dialogues:
      - q: "*IDN?"
        r: "BENCHSIM,PM-YAML,0001,1.0"
      - q: "*CLS"
      - q: "MEAS:VOLT?"
        r: "4.000000E+02"
      - q: "MEAS:CURR?"
        r: "2.500000E+01"
      - q: "MEAS:POW?"
        r: "1.000000E+04"
resources:
  TCPIP::127.0.0.1::5025::SOCKET:
    device: meter
"""


async def test_generic_through_pyvisa_sim_backend(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same driver on the pyvisa-sim backend, chosen by visa_library only (no branch)."""
    yaml = tmp_path / "meter.yaml"
    yaml.write_text(PYVISA_SIM_YAML)
    meter = ScpiPowerMeter("meter", "TCPIP::127.0.0.1::5025::SOCKET", f"{yaml}@sim",
                           "generic", 1, timeout_s=0.5)
    ident = await meter.activate()
    try:
        assert ident.identity == "BENCHSIM,PM-YAML,0001,1.0"
        r = await meter.read()
        assert (r.voltage_v, r.current_a, r.power_w) == (400.0, 25.0, 10000.0)
        await meter.session.write("BOGUS:CMD")  # unknown to the device: queues -113
        assert await meter.drain_errors() == ['-113,"Undefined header"']
        assert await meter.drain_errors() == []
        with pytest.raises(InstrumentError, match=r"INT:STAT\?: no answer within 0.5 s"):
            await meter.integrator_state()  # not in this YAML: the device stays silent
    finally:
        await meter.deactivate()


async def test_unknown_error_query_reported_once() -> None:
    async with ScriptedScpiServer([
        ("*IDN?", IDN), ("SYST:ERR?", "ERROR"),
    ]) as srv:
        meter = ScpiPowerMeter("meter", srv.resource, timeout_s=0.5)
        ident = await meter.activate(readonly=True)
        assert ident.details["errors"] == [
            "SYST:ERR? answered 'ERROR', not an error-queue entry"]
        await meter.deactivate()
    srv.assert_done()


@pytest.mark.parametrize("answer", ["NAN", "9.910000E+37", "+INF", "-9.9E37"])
async def test_non_finite_reading_is_refused_naming_the_meter(answer: str) -> None:
    """A NaN or infinite reading would pass or fail limits at random: the driver refuses it
    with an InstrumentError naming the instrument, its address and the query."""
    async def actions(m: ScpiPowerMeter):  # type: ignore[no-untyped-def]
        with pytest.raises(InstrumentError) as info:
            await m.energy_wh()
        return str(info.value)

    text = await run_script("generic", [("*IDN?", IDN), ("SYST:ERR?", NO_ERR), ("*CLS", None),
                                        ("SYST:ERR?", NO_ERR), ("INT:ENER?", answer)], actions)
    assert "meter at TCPIP::127.0.0.1::" in text and "INT:ENER?" in text
    assert "non-finite reading" in text

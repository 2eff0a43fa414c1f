"""Modbus EV emulator and mains coil drivers against the twins (real pymodbus TCP server).

Exact traffic: the server's trace_pdu hook records every request PDU the driver sends.
Faults: server down, exception replies, no answer; each error names instrument and address.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from instruments.errors import InstrumentError, InstrumentNotActive
from instruments.mains import ModbusCoilMains
from instruments.modbus_ev import ModbusEvEmulator
from sim.model import RigModel
from sim.twins.ev import EvTwin, MainsTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import load_register_map as twin_map


@dataclass
class Rig:
    model: RigModel
    server: ModbusTwinServer
    traffic: list[tuple[int, int, object]] = field(default_factory=list)

    def ev(self, device_id: int = 1, **kw: object) -> ModbusEvEmulator:
        return ModbusEvEmulator("ev1", "127.0.0.1", self.server.port, device_id, "bench-ev-v1",
                                connector=device_id, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    model = RigModel(connectors=2)
    regmap = twin_map("bench-ev-v1")
    traffic: list[tuple[int, int, object]] = []

    def trace(sending: bool, pdu):  # type: ignore[no-untyped-def]
        if not sending:
            payload = getattr(pdu, "registers", None) or getattr(pdu, "bits", None)
            traffic.append((pdu.function_code, pdu.address,
                            list(payload) if payload else getattr(pdu, "count", None)))
        return pdu

    server = ModbusTwinServer({1: EvTwin(model, 1, regmap), 2: EvTwin(model, 2, regmap),
                               10: MainsTwin(model)}, port=0, trace_pdu=trace)
    await server.start()
    try:
        yield Rig(model, server, traffic)
    finally:
        await server.stop()


async def test_identify_reads_map_version(rig: Rig) -> None:
    ev = rig.ev()
    ident = await ev.activate()
    try:
        assert ident.identity == "bench-ev map v1"
        assert ident.details["device_map_version"] == 1
        assert ident.address == f"127.0.0.1:{rig.server.port} device 1"
    finally:
        await ev.deactivate()


async def test_charging_session_reaches_the_model(rig: Rig) -> None:
    ev = rig.ev()
    await ev.activate()
    try:
        await ev.plug()
        await ev.set_cp_state("B")
        await ev.request_voltage(400.0)
        await ev.request_current(125.5)
        await ev.allow_power(True)
        await ev.set_cp_state("C")
        c = rig.model.connector(1)
        assert c.plugged and c.cp_request == "C" and c.allow_power
        assert c.requested_current_a == pytest.approx(125.5)
        assert c.target_voltage_v == pytest.approx(400.0)
        state = await ev.read_state()
        assert state.plugged and state.cp_request == "C" and state.allow_power
        assert state.requested_current_a == pytest.approx(125.5)
        assert state.cp_state.startswith("C") or state.cp_state.startswith("B")
        await ev.inject_fault("diode_fault")
        assert rig.model.connector(1).diode_fault
        assert (await ev.read_state()).error_bits & 1
        await ev.inject_fault("diode_fault", on=False)
        await ev.unplug()
        assert not rig.model.connector(1).plugged
        assert not rig.model.connector(2).plugged  # device id 2 untouched
    finally:
        await ev.deactivate()


async def test_exact_traffic(rig: Rig) -> None:
    ev = rig.ev()
    await ev.activate()
    rig.traffic.clear()
    await ev.request_current(32.0)
    await ev.set_cp_state("C")
    await ev.read_state()
    await ev.deactivate()
    assert rig.traffic == [
        (6, 3, [320]),      # requested_current, scale 10
        (6, 1, [2]),        # cp_state_request C
        (3, 0, 10),         # control block 0..9
        (3, 100, 12),       # read-back block 100..111
    ]


async def test_refuses_when_not_active(rig: Rig) -> None:
    ev = rig.ev()
    with pytest.raises(InstrumentNotActive, match=r"ev1 at 127\.0\.0\.1"):
        await ev.plug()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_server_down_names_instrument_and_address() -> None:
    port = _closed_port()
    ev = ModbusEvEmulator("ev1", "127.0.0.1", port, 1, "bench-ev-v1", 1, timeout_s=0.3,
                          retries=0)
    with pytest.raises(InstrumentError) as info:
        await ev.activate()
    msg = str(info.value)
    assert f"ev1 at 127.0.0.1:{port} device 1" in msg
    assert "cannot connect" in msg
    assert not ev.active


async def test_exception_reply_names_register(rig: Rig) -> None:
    ev = rig.ev(timeout_s=0.5, retries=1)
    await ev.activate()
    try:
        rig.server.faults.exception_code = 4
        with pytest.raises(InstrumentError) as info:
            await ev.request_current(10)
        msg = str(info.value)
        assert "ev1 at 127.0.0.1" in msg
        assert "register requested_current (3)" in msg
        assert "Modbus exception 4 (SERVER DEVICE FAILURE)" in msg
        assert info.value.register == "requested_current (3)"
    finally:
        rig.server.faults.exception_code = None
        await ev.deactivate()


async def test_no_answer_is_a_bounded_timeout(rig: Rig) -> None:
    ev = rig.ev(timeout_s=0.2, retries=1)
    await ev.activate()
    try:
        rig.server.faults.no_answer = True
        with pytest.raises(InstrumentError) as info:
            await ev.plug()
        msg = str(info.value)
        assert "register plugged (0)" in msg
        assert "after 2 attempts" in msg
    finally:
        rig.server.faults.no_answer = False
        await ev.deactivate()


async def test_value_out_of_range_names_register(rig: Rig) -> None:
    ev = rig.ev()
    await ev.activate()
    try:
        with pytest.raises(InstrumentError, match=r"register requested_current \(3\).*out of"):
            await ev.request_current(7000)
        with pytest.raises(InstrumentError, match="must be one of A, B, C, D"):
            await ev.set_cp_state("E")
    finally:
        await ev.deactivate()


async def test_wrong_map_version_fails_activation(rig: Rig) -> None:
    ev = rig.ev()
    ev.map = type(ev.map)(ev.map.path, ev.map.family, 2, ev.map.word_order, ev.map.registers)
    with pytest.raises(InstrumentError, match=r"map version 1.*version 2"):
        await ev.activate()


async def test_mains_coil(rig: Rig) -> None:
    mains = ModbusCoilMains("mains", "127.0.0.1", rig.server.port, 10, 0)
    ident = await mains.activate()
    try:
        assert ident.details["mains_on"] is True
        await mains.off()
        assert rig.model.mains_on is False
        assert await mains.state() is False
        await mains.on()
        assert rig.model.mains_on is True
        assert await mains.state() is True
    finally:
        await mains.deactivate()


async def test_mains_wrong_coil_names_coil(rig: Rig) -> None:
    mains = ModbusCoilMains("mains", "127.0.0.1", rig.server.port, 10, coil=3, retries=0)
    with pytest.raises(InstrumentError) as info:
        await mains.activate()
    assert "mains at 127.0.0.1" in str(info.value)
    assert "coil 3" in str(info.value)
    assert "ILLEGAL DATA ADDRESS" in str(info.value)


async def test_heartbeat_watchdog() -> None:
    import time

    model = RigModel(connectors=1)
    twin = EvTwin(model, 1, twin_map("bench-ev-v1"), clock=lambda: time.monotonic() * 10)
    server = ModbusTwinServer({1: twin}, port=0)
    await server.start()
    ev = ModbusEvEmulator("ev1", "127.0.0.1", server.port, 1, "bench-ev-v1", 1)
    try:
        await ev.activate()
        assert await ev.check_alive(within_s=2.0) >= 0  # a running emulator (10 beats/s)
        twin.heartbeat_stopped = True
        with pytest.raises(InstrumentError) as info:
            await ev.check_alive(within_s=0.5)
        assert "heartbeat stuck" in str(info.value)
        assert info.value.register == "heartbeat (110)"
    finally:
        await ev.deactivate()
        await server.stop()

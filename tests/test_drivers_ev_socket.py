"""The socket rig's actuators of the EV emulator (register map bench-ev-v2) against the twin
over a real pymodbus TCP server: exact traffic, the physics behind them (a half-inserted plug
the lock cannot hold, a lock the rig holds, a cable the lock keeps in), and a v1 map refusing
them without breaking the rig.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from instruments.errors import NotSafe, NotSupported
from instruments.interfaces import SocketActuators
from instruments.modbus_ev import REGISTRATION as EV_REGISTRATION
from instruments.modbus_ev import ModbusEvEmulator
from sim.model import RigModel
from sim.twins.ev import EvTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import load_register_map as twin_map


@dataclass
class Rig:
    model: RigModel
    server: ModbusTwinServer
    traffic: list[tuple[int, int, object]] = field(default_factory=list)

    def ev(self, device_id: int = 1, regmap: str = "bench-ev-v2") -> ModbusEvEmulator:
        return ModbusEvEmulator("ev1", "127.0.0.1", self.server.port, device_id, regmap,
                                connector=device_id)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    model = RigModel(connectors=2)
    model.set_socket_outlets(True)
    traffic: list[tuple[int, int, object]] = []

    def trace(sending: bool, pdu):  # type: ignore[no-untyped-def]
        if not sending:
            payload = getattr(pdu, "registers", None)
            traffic.append((pdu.function_code, pdu.address,
                            list(payload) if payload else getattr(pdu, "count", None)))
        return pdu

    server = ModbusTwinServer({1: EvTwin(model, 1, twin_map("bench-ev-v2")),
                               2: EvTwin(model, 2, twin_map("bench-ev-v1"))},
                              port=0, trace_pdu=trace)
    await server.start()
    try:
        yield Rig(model, server, traffic)
    finally:
        await server.stop()


async def test_socket_actuators_exact_traffic(rig: Rig) -> None:
    ev = rig.ev()
    ident = await ev.activate()
    try:
        assert ident.identity == "bench-ev map v2" and ev.socket_actuated
        assert isinstance(ev, SocketActuators)
        rig.traffic.clear()
        await ev.socket_plug("half")
        await ev.hold_lock(True)
        state = await ev.read_socket()
        await ev.read_state()
    finally:
        await ev.deactivate()
    assert state.socket_plug == "half" and state.lock_held and state.lock_closed
    assert rig.traffic == [
        (6, 10, [2]),    # socket_plug half
        (6, 11, [1]),    # lock_held
        (3, 10, 2),      # socket_plug, lock_held
        (3, 112, 1),     # lock_closed
        (3, 0, 12),      # control block 0..11 (v1's 0..9 and the socket registers)
        (3, 100, 13),    # read-back block 100..112
    ]


async def test_the_physics_behind_the_actuators(rig: Rig) -> None:
    ev = rig.ev()
    await ev.activate()
    c = rig.model.connector(1)
    try:
        await ev.plug()
        await ev.set_cp_state("B")
        assert c.cp_state.startswith("A")  # the cable's station end is not in the socket
        await ev.socket_plug("seated")
        assert c.cp_state.startswith("B")  # the CP reaches the station through the cable
        c.locked = True  # the station drives its lock: the pin engages on a seated plug
        assert (await ev.read_socket()).lock_closed
        await ev.socket_plug("out")  # the pin holds the plug: the pull does not take it out
        assert (await ev.read_socket()).socket_plug == "seated"
        c.locked = False
        await ev.socket_plug("half")
        c.locked = True  # a half-inserted plug: the pin cannot engage
        assert not (await ev.read_socket()).lock_closed
        c.locked = False
        await ev.hold_lock(True)  # the rig holds the pin engaged: the station cannot open it
        assert (await ev.read_socket()).lock_closed
        await ev.hold_lock(False)
        await ev.socket_plug("out")
        assert (await ev.read_socket()).socket_plug == "out" and c.cp_state.startswith("A")
    finally:
        await ev.deactivate()


async def test_a_v1_map_has_no_socket_actuators(rig: Rig) -> None:
    ev = rig.ev(device_id=2, regmap="bench-ev-v1")
    await ev.activate()
    try:
        assert not ev.socket_actuated
        with pytest.raises(NotSupported, match=r"ev1 at 127\.0\.0\.1:\d+ device 2.*bench-ev-v1"
                                               r".*no socket actuators") as err:
            await ev.hold_lock(True)
        assert not err.value.fatal  # a case needing them is an ERROR; the rig stays usable
        await ev.plug()  # ... and the v1 registers still work
    finally:
        await ev.deactivate()


async def test_safe_state_takes_the_cable_out_or_says_it_is_locked_in(rig: Rig,
                                                                      monkeypatch) -> None:
    monkeypatch.setattr("instruments.safe_steps.CABLE_OUT_WITHIN_S", 0.2)
    ev = rig.ev()
    (step,) = [s for s in EV_REGISTRATION.safe_state if s.label == "cable_out"]
    c = rig.model.connector(1)
    c.socket_plug, c.lock_held = "seated", True  # the rig itself still holds the pin
    readback = await step.run(ev)  # activates the driver itself (a broken bench may not have)
    assert readback == {"socket_plug": "out", "lock_held": False, "lock_closed": False}
    c.socket_plug, c.locked = "seated", True  # now the station keeps its lock closed
    with pytest.raises(NotSafe, match="still in the socket: the station keeps its lock") as e:
        await step.run(ev)
    assert e.value.readback == {"socket_plug": "seated", "lock_held": False, "lock_closed": True}
    await ev.deactivate()


async def test_bad_socket_state_is_refused_before_any_traffic(rig: Rig) -> None:
    ev = rig.ev()
    await ev.activate()
    try:
        rig.traffic.clear()
        with pytest.raises(NotSupported, match="'ajar': must be one of out, seated, half"):
            await ev.socket_plug("ajar")
        assert rig.traffic == []
    finally:
        await ev.deactivate()

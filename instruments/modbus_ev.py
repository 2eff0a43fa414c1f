"""EV emulator over Modbus TCP; the register map (addresses, types, scaling, enums) is data."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from instruments.base import Driver
from instruments.errors import NotSupported
from instruments.interfaces import EvEmulator, EvState, Identity, SocketState
from instruments.modbus_link import ModbusLink
from instruments.registration import (
    CONNECTOR_KEY,
    MODBUS_DEVICE_KEY,
    RETRIES_KEY,
    TCP_KEYS,
    TIMEOUT_KEYS,
    BuildContext,
    DriverRegistration,
    Key,
    KeyProblem,
    RigFacts,
)
from instruments.regmap import Register, RegisterMap, load_register_map, resolve_map_path
from instruments.safe_steps import EV_SAFE_STEPS, SOCKET_SAFE_STEPS

FAULTS = {"diode_fault": "diode_fault", "state_e": "force_state_e"}
CP_REQUESTS = ("A", "B", "C", "D")
SOCKET_PLUGS = ("out", "seated", "half")
SOCKET_REGISTERS = ("socket_plug", "lock_held", "lock_closed")  # map v2


def _blocks(regs: list[Register], max_gap: int = 0, max_len: int = 100) -> list[list[Register]]:
    """Group registers into few contiguous reads; gaps are not read (devices refuse them)."""
    blocks: list[list[Register]] = []
    for reg in sorted(regs, key=lambda r: r.address):
        if blocks:
            first, last = blocks[-1][0], blocks[-1][-1]
            end = reg.address + reg.count
            if reg.address - (last.address + last.count) <= max_gap and \
                    end - first.address <= max_len:
                blocks[-1].append(reg)
                continue
        blocks.append([reg])
    return blocks


class ModbusEvEmulator(Driver):
    driver = "modbus-ev"

    def __init__(self, name: str, host: str, port: int, device_id: int, register_map: str,
                 connector: int, timeout_s: float = 1.0, retries: int = 2,
                 map_base: Path | None = None) -> None:
        self.link = ModbusLink(name, host, port, device_id, timeout_s, retries)
        super().__init__(name, self.link.address)
        self.connector = connector
        self.map: RegisterMap = load_register_map(register_map, map_base)

    # -- lifecycle ---------------------------------------------------------------------------
    async def _open(self) -> None:
        await self.link.connect()

    async def _identify(self) -> Identity:
        details: dict[str, Any] = {"map": self.map.path.name, "family": self.map.family}
        if "map_version" in self.map:
            version = await self.read_register("map_version")
            details["device_map_version"] = version
            if version != self.map.version:
                raise self.error(f"device implements register map version {version}, the "
                                 f"rig's map {self.map.path.name} is version {self.map.version}",
                                 "map_version")
        if "error_bits" in self.map:
            details["error_bits"] = await self.read_register("error_bits")
        if "heartbeat" in self.map:
            details["heartbeat"] = await self.read_register("heartbeat")
        return self.make_identity(f"{self.map.family} map v{self.map.version}", **details)

    async def _close(self) -> None:
        self.link.close()

    # -- raw register access (by name) -------------------------------------------------------
    def _reg_label(self, reg: Register) -> str:
        return f"{reg.name} ({reg.address})"

    async def read_register(self, name: str) -> Any:
        reg = self.map[name]
        words = await self.link.read_registers(reg.address, reg.count, self._reg_label(reg))
        return reg.decode(words, self.map.word_order)

    async def write_register(self, name: str, value: Any) -> None:
        self.require_active()
        reg = self.map[name]
        if "w" not in reg.access:
            raise self.error("register is read-only in the map", self._reg_label(reg))
        try:
            words = reg.encode(value, self.map.word_order)
        except ValueError as exc:
            raise self.error(str(exc), self._reg_label(reg)) from None
        await self.link.write_registers(reg.address, words, self._reg_label(reg))

    async def read_all(self) -> dict[str, Any]:
        """Every register of the map, in as few requests as possible."""
        return await self._read_many(list(self.map.registers.values()))

    async def _read_many(self, regs: list[Register]) -> dict[str, Any]:
        self.require_active()
        values: dict[str, Any] = {}
        for block in _blocks(regs):
            start = block[0].address
            count = block[-1].address + block[-1].count - start
            label = f"{block[0].name}..{block[-1].name} ({start}..{start + count - 1})"
            words = await self.link.read_registers(start, count, label)
            for reg in block:
                off = reg.address - start
                values[reg.name] = reg.decode(words[off:off + reg.count], self.map.word_order)
        return values

    # -- EvEmulator --------------------------------------------------------------------------
    async def plug(self) -> None:
        await self.write_register("plugged", 1)

    async def unplug(self) -> None:
        await self.write_register("plugged", 0)

    async def set_cp_state(self, state: str) -> None:
        if state not in CP_REQUESTS:
            raise self.error(f"CP state request {state!r}: must be one of A, B, C, D",
                             "cp_state_request")
        await self.write_register("cp_state_request", state)

    async def allow_power(self, allowed: bool) -> None:
        await self.write_register("allow_power", int(bool(allowed)))

    async def request_current(self, amps: float) -> None:
        await self.write_register("requested_current", amps)

    async def request_voltage(self, volts: float) -> None:
        await self.write_register("target_voltage", volts)

    async def pause(self, paused: bool) -> None:
        await self.write_register("pause", int(bool(paused)))

    async def stop(self, stop: bool = True) -> None:
        await self.write_register("stop_request", int(bool(stop)))

    async def inject_fault(self, kind: str, on: bool = True) -> None:
        if kind not in FAULTS:
            raise self.error(f"unknown fault {kind!r}: one of {', '.join(FAULTS)}")
        await self.write_register(FAULTS[kind], int(bool(on)))

    async def read_state(self) -> EvState:
        v = await self.read_all()
        return EvState(
            plugged=bool(v.get("plugged", 0)),
            cp_request=str(v.get("cp_state_request", "A")),
            allow_power=bool(v.get("allow_power", 0)),
            requested_current_a=float(v.get("requested_current", 0.0)),
            target_voltage_v=float(v.get("target_voltage", 0.0)),
            pause=bool(v.get("pause", 0)),
            stop_request=bool(v.get("stop_request", 0)),
            diode_fault=bool(v.get("diode_fault", 0)),
            force_state_e=bool(v.get("force_state_e", 0)),
            cp_state=str(v.get("cp_state", "invalid")),
            pwm_duty_pct=float(v.get("pwm_duty", 0.0)),
            contactor_closed=bool(v.get("contactor_closed", 0)),
            measured_voltage_v=float(v.get("measured_voltage", 0.0)),
            measured_current_a=float(v.get("measured_current", 0.0)),
            error_bits=int(v.get("error_bits", 0)),
        )

    # -- SocketActuators (map v2) --------------------------------------------------------------
    @property
    def socket_actuated(self) -> bool:
        """The map has the socket rig's actuators (the cable's station end, the lock hold)."""
        return all(name in self.map for name in SOCKET_REGISTERS)

    def _require_socket(self) -> None:
        if not self.socket_actuated:
            missing = [n for n in SOCKET_REGISTERS if n not in self.map]
            raise NotSupported(self.name, self.address,
                               f"register map {self.map.path.name} has no socket actuators "
                               f"({', '.join(missing)}): a socket rig needs map bench-ev-v2 "
                               "or one with the same registers")

    async def socket_plug(self, state: str) -> None:
        """The cable's station end: out of the station's socket, seated, or half-inserted."""
        self._require_socket()
        if state not in SOCKET_PLUGS:
            raise NotSupported(self.name, self.address,
                               f"socket plug {state!r}: must be one of {', '.join(SOCKET_PLUGS)}",
                               "socket_plug")
        await self.write_register("socket_plug", state)

    async def hold_lock(self, held: bool) -> None:
        self._require_socket()
        await self.write_register("lock_held", int(bool(held)))

    async def read_socket(self) -> SocketState:
        self._require_socket()
        values = await self._read_many([self.map[n] for n in SOCKET_REGISTERS])
        return SocketState(socket_plug=str(values["socket_plug"]),
                           lock_held=bool(values["lock_held"]),
                           lock_closed=bool(values["lock_closed"]))

    async def check_alive(self, within_s: float = 2.5) -> int:
        """The heartbeat register (incremented every second) must change within within_s."""
        self.require_active()
        first = await self.read_register("heartbeat")
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            beat = await self.read_register("heartbeat")
            if beat != first:
                return int(beat)
        reg = self.map["heartbeat"]
        raise self.error(f"heartbeat stuck at {first} for {within_s:g} s: the emulator stopped "
                         "running", self._reg_label(reg))


def _known_map(value: str, rig: RigFacts) -> None:
    if resolve_map_path(value, rig.path.parent) is None:
        raise KeyProblem(f"= {value!r}: no such map in instruments/maps/ (name without .toml) "
                         "or path to a map file")


def _build(ctx: BuildContext) -> ModbusEvEmulator:
    p = ctx.params
    return ModbusEvEmulator(ctx.name, p["host"], p["port"], p["device_id"], p["register_map"],
                            p["connector"], p.get("timeout_s", 1.0), p.get("retries", 2),
                            map_base=ctx.rig.path.parent)


REGISTRATION = DriverRegistration(
    name=ModbusEvEmulator.driver, role="ev", provides=EvEmulator, binding="connector",
    keys={
        **TCP_KEYS,
        "device_id": MODBUS_DEVICE_KEY,
        "register_map": Key(str, required=True, check=_known_map,
                            doc="map name in instruments/maps or a path"),
        "connector": CONNECTOR_KEY,
        "retries": RETRIES_KEY,
        **TIMEOUT_KEYS,
    },
    build=_build, safe_state=EV_SAFE_STEPS + SOCKET_SAFE_STEPS, sim_endpoint="modbus",
    doc="EV emulator over Modbus TCP; its register map is data (instruments/maps); map v2 adds "
        "a socket rig's actuators (the cable's station end, a lock the rig holds)")

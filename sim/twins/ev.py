"""The EV emulator twin and the mains switch twin: Modbus devices over the physical model.

Both are plain objects (no pymodbus here): `modbus_server` routes each request to the device
of its device id. Control registers written by the bench's driver go into the model; read-back
registers are computed from the model at the moment they are read, so they are never stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar, Protocol

from sim.model import ConnectorPhysics, RigModel
from sim.twins.regmap import Register, RegisterMap

# Modbus exception codes (the values of the protocol, independent of pymodbus)
ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03
DEVICE_FAILURE = 0x04

PP_AMPACITIES = (13, 20, 32, 63, 80)
_TYPE_RANGE = {"uint16": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF),
               "uint32": (0, 0xFFFFFFFF), "int32": (-0x80000000, 0x7FFFFFFF)}


class ModbusReject(Exception):
    """Answer the request with a Modbus exception `code` (why says what was wrong)."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class ModbusDevice(Protocol):
    """One Modbus device id of the twin server. Methods raise ModbusReject to refuse."""

    def read_holding(self, address: int, count: int) -> list[int]: ...
    def write_holding(self, address: int, values: list[int]) -> None: ...
    def read_coils(self, address: int, count: int) -> list[bool]: ...
    def write_coils(self, address: int, values: list[bool]) -> None: ...


def encode(reg: Register, value: float, word_order: str) -> list[int]:
    """Engineering value -> register words (scaled, clamped to the type, two's complement)."""
    low, high = _TYPE_RANGE[reg.type]
    raw = min(high, max(low, round(value * reg.scale)))
    raw &= (1 << (16 * reg.words)) - 1
    words = [(raw >> (16 * i)) & 0xFFFF for i in reversed(range(reg.words))]  # high first
    return words if word_order == "big" else words[::-1]


def decode(reg: Register, words: list[int], word_order: str) -> int:
    """Register words -> raw integer (signed for int types), before scaling."""
    ordered = words if word_order == "big" else words[::-1]
    raw = 0
    for w in ordered:
        raw = (raw << 16) | w
    if reg.type.startswith("int") and raw >= 1 << (16 * reg.words - 1):
        raw -= 1 << (16 * reg.words)
    return raw


class EvTwin:
    """The bench EV emulator on one connector, as a Modbus device with the map's registers."""

    # register name -> model field; the names are the contract, addresses come from the map
    CONTROL_FIELDS: ClassVar[dict[str, str]] = {
        "plugged": "plugged", "cp_state_request": "cp_request", "allow_power": "allow_power",
        "requested_current": "requested_current_a", "target_voltage": "target_voltage_v",
        "pause": "pause", "stop_request": "stop_request", "diode_fault": "diode_fault",
        "force_state_e": "force_e", "pp_ampacity": "pp_ampacity_a",
        "socket_plug": "socket_plug", "lock_held": "lock_held",  # map v2: socket rigs
    }
    BOOLEANS = frozenset({"plugged", "allow_power", "pause", "stop_request", "diode_fault",
                          "force_state_e", "lock_held"})

    def __init__(self, model: RigModel, connector: int, regmap: RegisterMap,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self.connector: ConnectorPhysics = model.connector(connector)
        self.map = regmap
        self._words = regmap.by_address()
        self._clock = clock
        self._started = clock()
        # fault injection of the emulator itself
        self.internal_error = False  # sets error bit 2
        self.heartbeat_stopped = False  # the watchdog counter freezes
        self._frozen_heartbeat: int | None = None

    # --- Modbus device --------------------------------------------------------------------

    def read_holding(self, address: int, count: int) -> list[int]:
        out: list[int] = []
        cache: dict[str, list[int]] = {}
        for a in range(address, address + count):
            if a not in self._words:
                raise ModbusReject(ILLEGAL_ADDRESS, f"no register at {a}")
            reg, index = self._words[a]
            if reg.name not in cache:
                cache[reg.name] = encode(reg, self.value(reg.name), self.map.word_order)
            out.append(cache[reg.name][index])
        return out

    def write_holding(self, address: int, values: list[int]) -> None:
        """All-or-nothing: every word is checked before the model sees any of them."""
        pending: dict[str, list[int | None]] = {}
        for offset, word in enumerate(values):
            a = address + offset
            if a not in self._words:
                raise ModbusReject(ILLEGAL_ADDRESS, f"no register at {a}")
            reg, index = self._words[a]
            if not reg.writable:
                raise ModbusReject(ILLEGAL_ADDRESS, f"{reg.name} ({a}) is read-only")
            pending.setdefault(reg.name, [None] * reg.words)[index] = word
        decoded: list[tuple[str, object]] = []
        for name, words in pending.items():
            reg = self.map.registers[name]
            if any(w is None for w in words):
                raise ModbusReject(ILLEGAL_ADDRESS, f"{name}: write all {reg.words} words at once")
            raw = decode(reg, [int(w) for w in words if w is not None], self.map.word_order)
            decoded.append((name, self._to_model(reg, raw)))
        for name, value in decoded:
            setattr(self.connector, self.CONTROL_FIELDS[name], value)

    def read_coils(self, address: int, count: int) -> list[bool]:
        raise ModbusReject(ILLEGAL_FUNCTION, "the EV emulator has no coils")

    def write_coils(self, address: int, values: list[bool]) -> None:
        raise ModbusReject(ILLEGAL_FUNCTION, "the EV emulator has no coils")

    # --- values ---------------------------------------------------------------------------

    def value(self, name: str) -> float:
        """The engineering value of register `name` now (before scaling to raw)."""
        c = self.connector
        if name in self.CONTROL_FIELDS:
            v = getattr(c, self.CONTROL_FIELDS[name])
            enum = self.map.registers[name].enum
            if enum is not None:
                return self.map.enum_value(enum, v)
            return float(v)
        readback: dict[str, Callable[[], float]] = {
            "cp_state": lambda: self.map.enum_value("cp_state", c.cp_state),
            "cp_voltage_pos": lambda: c.cp_voltage_pos_v,
            "cp_voltage_neg": lambda: c.cp_voltage_neg_v,
            "pwm_duty": lambda: c.pwm_duty_pct,
            "contactor_closed": lambda: float(c.contactor_closed),
            "measured_voltage": lambda: c.voltage_v,
            "measured_current": lambda: c.current_a,
            "error_bits": self._error_bits,
            "heartbeat": self._heartbeat,
            "map_version": lambda: self.map.version,
            "lock_closed": lambda: float(c.lock_closed),
        }
        if name not in readback:
            raise ModbusReject(ILLEGAL_ADDRESS, f"register {name} is not implemented by the twin")
        return float(readback[name]())

    def _error_bits(self) -> int:
        c = self.connector
        return (int(c.diode_fault) | int(c.cp_state == "E") << 1
                | int(self.internal_error) << 2)

    def _heartbeat(self) -> int:
        beat = int(self._clock() - self._started) & 0xFFFF
        if self.heartbeat_stopped:
            if self._frozen_heartbeat is None:
                self._frozen_heartbeat = beat
            return self._frozen_heartbeat
        self._frozen_heartbeat = None
        return beat

    def _to_model(self, reg: Register, raw: int) -> object:
        name = reg.name
        if name in self.BOOLEANS:
            if raw not in (0, 1):
                raise ModbusReject(ILLEGAL_VALUE, f"{name} = {raw}: must be 0 or 1")
            return bool(raw)
        if reg.enum is not None:
            label = self.map.enum_name(reg.enum, raw)
            if label is None:
                raise ModbusReject(ILLEGAL_VALUE, f"{name} = {raw}: not in enum {reg.enum}")
            return label
        if name == "pp_ampacity":
            if raw not in PP_AMPACITIES:
                raise ModbusReject(ILLEGAL_VALUE, f"{name} = {raw}: must be one of {PP_AMPACITIES}")
            return raw
        return raw / reg.scale


class MainsTwin:
    """The mains switch in front of the station: one coil, 1 = mains on.

    Writing the coil switches `model.mains_on` and then calls `on_change(on)`: the rig
    cuts the station's power (power_off) or lets it boot again.
    """

    def __init__(self, model: RigModel, coil: int = 0,
                 on_change: Callable[[bool], None] | None = None) -> None:
        self.model = model
        self.coil = coil
        self.on_change = on_change

    def read_coils(self, address: int, count: int) -> list[bool]:
        if address != self.coil or count != 1:
            raise ModbusReject(ILLEGAL_ADDRESS, f"the mains switch has only coil {self.coil}")
        return [self.model.mains_on]

    def write_coils(self, address: int, values: list[bool]) -> None:
        if address != self.coil or len(values) != 1:
            raise ModbusReject(ILLEGAL_ADDRESS, f"the mains switch has only coil {self.coil}")
        on = bool(values[0])
        if on == self.model.mains_on:
            return
        self.model.mains_on = on
        if self.on_change is not None:
            self.on_change(on)

    def read_holding(self, address: int, count: int) -> list[int]:
        raise ModbusReject(ILLEGAL_FUNCTION, "the mains switch has only a coil")

    def write_holding(self, address: int, values: list[int]) -> None:
        raise ModbusReject(ILLEGAL_FUNCTION, "the mains switch has only a coil")

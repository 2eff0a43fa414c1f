"""Instrument interfaces by capability (typing.Protocol).

Verbs and safe state ask for these, never for a vendor class. Every method that does I/O is
async and raises InstrumentError naming the instrument and its address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Identity:
    """Who answered: recorded in the `instruments` snapshot."""

    name: str
    driver: str
    address: str
    identity: str  # *IDN? answer, map version, reader name...
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "driver": self.driver, "address": self.address,
                "identity": self.identity, **({"details": self.details} if self.details else {})}


@dataclass(frozen=True)
class EvState:
    """EV emulator read-back: what it was told and what it measures."""

    plugged: bool
    cp_request: str
    allow_power: bool
    requested_current_a: float
    target_voltage_v: float
    pause: bool
    stop_request: bool
    diode_fault: bool
    force_state_e: bool
    cp_state: str
    pwm_duty_pct: float
    contactor_closed: bool
    measured_voltage_v: float
    measured_current_a: float
    error_bits: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SocketState:
    """A socket rig's actuators at the station end, read back: where the cable's station end
    is (out, seated, half) and the lock pin (held by the rig, engaged)."""

    socket_plug: str
    lock_held: bool
    lock_closed: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MeterReading:
    voltage_v: float
    current_a: float
    power_w: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@runtime_checkable
class Instrument(Protocol):
    name: str
    driver: str
    address: str

    @property
    def active(self) -> bool: ...

    async def activate(self, readonly: bool = False) -> Identity: ...

    async def deactivate(self) -> None: ...


@runtime_checkable
class EvEmulator(Instrument, Protocol):
    connector: int

    async def plug(self) -> None: ...

    async def unplug(self) -> None: ...

    async def set_cp_state(self, state: str) -> None: ...

    async def allow_power(self, allowed: bool) -> None: ...

    async def request_current(self, amps: float) -> None: ...

    async def request_voltage(self, volts: float) -> None: ...

    async def pause(self, paused: bool) -> None: ...

    async def stop(self, stop: bool = True) -> None: ...

    async def inject_fault(self, kind: str, on: bool = True) -> None: ...

    async def read_state(self) -> EvState: ...

    async def check_alive(self, within_s: float = 2.5) -> int: ...


@runtime_checkable
class SocketActuators(Protocol):
    """The actuators of a socket rig (an EV emulator may have them): the loose cable's station
    end and a lock the rig can hold. `socket_actuated` says whether this device has them."""

    @property
    def socket_actuated(self) -> bool: ...

    async def socket_plug(self, state: str) -> None: ...

    async def hold_lock(self, held: bool) -> None: ...

    async def read_socket(self) -> SocketState: ...


@runtime_checkable
class PowerMeter(Instrument, Protocol):
    connector: int

    async def read(self) -> MeterReading: ...

    async def voltage(self) -> float: ...

    async def current(self) -> float: ...

    async def power(self) -> float: ...

    async def integrator_reset(self) -> None: ...

    async def integrator_start(self) -> None: ...

    async def integrator_stop(self) -> None: ...

    async def integrator_state(self) -> str: ...

    async def energy_wh(self) -> float: ...


@runtime_checkable
class CardPresenter(Instrument, Protocol):
    async def present(self, uid: str) -> None: ...

    async def remove(self) -> None: ...

    @property
    def presented(self) -> str | None: ...


@runtime_checkable
class CardReader(Instrument, Protocol):
    async def read_uid(self, timeout_s: float) -> str: ...


@runtime_checkable
class MainsSwitch(Instrument, Protocol):
    async def on(self) -> None: ...

    async def off(self) -> None: ...

    async def state(self) -> bool: ...


@runtime_checkable
class PacketFilter(Instrument, Protocol):
    """Cuts the station's link to the CSMS on the bench host without a word (a pulled cable)."""

    async def drop(self, csms_port: int) -> None: ...

    async def allow(self) -> None: ...

    async def state(self) -> Any: ...

    async def syn_packets(self) -> int: ...


@dataclass(frozen=True)
class OfflineDetection:
    """When the station was seen to notice the last network cut, and on what that rests."""

    driver: str
    cut_mono_ns: int
    seen_mono_ns: int | None
    basis: str  # the measurement's description
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        if self.seen_mono_ns is None:
            return None
        return (self.seen_mono_ns - self.cut_mono_ns) / 1e9

    def as_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "seconds": self.seconds, "cut_mono_ns": self.cut_mono_ns,
                "seen_mono_ns": self.seen_mono_ns, "basis": self.basis, **self.detail}


@runtime_checkable
class NetworkCut(Instrument, Protocol):
    """Takes the station's link to the CSMS away for a while and gives it back.

    `cut(seconds)` returns once the station is offline as far as the bench can tell;
    `station` is the CSMS session of the station (attached by the bench or looked up)."""

    station: Any

    async def cut(self, seconds: float, timeout_s: float = 10.0) -> None: ...

    async def restore(self, reconnect_timeout_s: float | None = None) -> None: ...

    def detection(self) -> OfflineDetection | None: ...

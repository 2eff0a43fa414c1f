"""The simulated rig's physical model: one truth shared by the station and the instrument twins.

The EV twin writes the EV-side fields (from Modbus), the station simulator writes the
station-side fields, and the model derives what a real rig would measure: the CP state as the
EV emulator classifies it (IEC 61851-1), the DC output's voltage, current and power, and the
energy counted by the station's internal meter.

Energy is exact: every change of an input first integrates the power that flowed up to that
instant with the old values, and `tick()` (run every ~50 ms by the rig) integrates in between.

    model = RigModel(connectors=2)
    c = model.connector(1)
    c.plugged = True; c.cp_request = "C"           # EV side
    c.contactor_closed = True                      # station side
    c.cp_state, c.current_a, c.energy_wh           # derived
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from instruments.deadline import within_deadline

CP_REQUESTS = ("A", "B", "C", "D")
CP_STATES = ("A1", "A2", "B1", "B2", "C1", "C2", "D1", "D2", "E", "F", "invalid")

# CP positive-half voltage the EV side produces with its resistance (IEC 61851-1 table A.2).
_CP_LEVEL_V = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0}

EV_FIELDS = frozenset({
    "plugged", "cp_request", "allow_power", "requested_current_a", "target_voltage_v",
    "pause", "stop_request", "diode_fault", "force_e", "pp_ampacity_a",
    "socket_plug", "lock_held",
})
STATION_FIELDS = frozenset({
    "contactor_closed", "offered_current_a", "pwm_duty_pct", "locked", "fault",
})
DERIVED_FIELDS = frozenset({
    "cp_state", "cp_voltage_pos_v", "cp_voltage_neg_v", "voltage_v", "current_a", "power_w",
    "lock_closed",
})
# The cable's station end on a socket outlet: out of the socket, fully seated (the lock pin
# can engage), or half-inserted (contacts made, the pin hits the plug and cannot engage).
SOCKET_PLUGS = ("out", "seated", "half")
# energy_wh is derived too (a property, integrated up to the instant it is read); it changes
# continuously, so listeners are not told about it.


@dataclass(frozen=True)
class ModelChange:
    """What a listener is told: which connector (0 = the rig: mains) and which fields changed."""

    connector: int
    fields: frozenset[str]


Listener = Callable[[ModelChange], None]


@dataclass(eq=False)
class ConnectorPhysics:
    """One connector's physics. Assign inputs as plain attributes; derived values follow."""

    number: int
    # --- EV side (the EV emulator twin writes these from Modbus) ---
    plugged: bool = False
    cp_request: str = "A"
    allow_power: bool = False
    requested_current_a: float = 0.0
    target_voltage_v: float = 0.0
    pause: bool = False
    stop_request: bool = False
    diode_fault: bool = False
    force_e: bool = False
    pp_ampacity_a: int = 80
    # socket outlets only (the rig's actuators at the station end of the loose cable)
    socket_plug: str = "out"
    lock_held: bool = False  # the rig holds the lock pin engaged: the station cannot open it
    # --- station side (the station simulator writes these) ---
    contactor_closed: bool = False
    offered_current_a: float = 0.0
    pwm_duty_pct: float = 100.0  # 100 = no PWM, 5 = high-level communication required
    locked: bool = False  # the lock actuator's command (lock_closed is where the pin is)
    fault: str | None = None  # not None = the station shows state F (EVSE not available)
    # --- derived by the model ---
    cp_state: str = "A1"
    cp_voltage_pos_v: float = 12.0
    cp_voltage_neg_v: float = 12.0
    voltage_v: float = 0.0
    current_a: float = 0.0
    power_w: float = 0.0
    lock_closed: bool = False  # the lock pin is engaged (the station's lock feedback)
    # wiring, not an input: True = a socket outlet (the CP runs through a loose cable whose
    # station end must be in the socket); False = a fixed cable
    socket_outlet: bool = False
    energy_counted_wh: float = 0.0  # energy up to the model's last integration
    _model: RigModel | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: object) -> None:
        model = self.__dict__.get("_model")
        if model is None or name not in EV_FIELDS | STATION_FIELDS:
            object.__setattr__(self, name, value)
            return
        if name == "cp_request" and value not in CP_REQUESTS:
            raise ValueError(f"connector {self.number}: cp_request {value!r}: must be A, B, C or D")
        if name == "socket_plug" and value not in SOCKET_PLUGS:
            raise ValueError(f"connector {self.number}: socket_plug {value!r}: must be one of "
                             + ", ".join(SOCKET_PLUGS))
        if name == "socket_plug" and value == "out" and self.lock_closed:
            return  # the pin holds the plug in the socket: the pull does not take it out
        if self.__dict__.get(name) == value:
            return
        model._input_changed(self, name, value)

    @property
    def energy_wh(self) -> float:
        """The station's internal meter register: exact at the moment it is read."""
        if self._model is not None:
            self._model.tick()
        return self.energy_counted_wh

    @property
    def flowing(self) -> bool:
        return self.current_a > 0.0

    def snapshot(self) -> dict[str, object]:
        """Every field as a plain dict (for logs and the run record)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        out["energy_wh"] = self.energy_wh
        return out


class RigModel:
    """All connectors of the simulated rig plus the mains supply of the station."""

    def __init__(self, connectors: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        if connectors < 1:
            raise ValueError(f"RigModel: connectors = {connectors}: must be at least 1")
        self._clock = clock
        self._time = clock()
        self._mains_on = True
        self._listeners: list[Listener] = []
        self._connectors = [ConnectorPhysics(number=n) for n in range(1, connectors + 1)]
        for c in self._connectors:
            c._model = self
            self._derive(c)

    # --- access --------------------------------------------------------------------------

    @property
    def connectors(self) -> list[ConnectorPhysics]:
        return list(self._connectors)

    def connector(self, n: int) -> ConnectorPhysics:
        if not 1 <= n <= len(self._connectors):
            raise KeyError(f"connector {n}: the rig has connectors 1..{len(self._connectors)}")
        return self._connectors[n - 1]

    @property
    def mains_on(self) -> bool:
        return self._mains_on

    @mains_on.setter
    def mains_on(self, on: bool) -> None:
        on = bool(on)
        if on == self._mains_on:
            return
        self._integrate_to(self._clock())
        self._mains_on = on
        changed: dict[int, set[str]] = {0: {"mains_on"}}
        for c in self._connectors:
            if not on:
                # A station without supply drops its relays and its CP generator.
                for name, rest in (("contactor_closed", False), ("offered_current_a", 0.0),
                                   ("pwm_duty_pct", 100.0)):
                    if getattr(c, name) != rest:
                        c.__dict__[name] = rest
                        changed.setdefault(c.number, set()).add(name)
            changed.setdefault(c.number, set()).update(self._derive(c))
        for number, names in changed.items():
            if names:
                self._notify(ModelChange(number, frozenset(names)))

    def set_socket_outlets(self, socket: bool) -> None:
        """Wire every connector as a socket outlet (True) or a fixed cable (False)."""
        for c in self._connectors:
            if c.socket_outlet != socket:
                c.__dict__["socket_outlet"] = socket
                changed = self._derive(c)
                if changed:
                    self._notify(ModelChange(c.number, frozenset(changed)))

    # --- listeners -----------------------------------------------------------------------

    def add_listener(self, callback: Listener) -> None:
        """`callback(ModelChange)` runs synchronously after every change of an input or of a
        derived value other than energy. Keep it short; it must not raise."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    async def wait_for(self, predicate: Callable[[], bool], within: float, what: str) -> None:
        """Wait until `predicate()` holds, re-checked on every change and tick."""
        event = asyncio.Event()

        def wake(_change: ModelChange) -> None:
            event.set()

        self.add_listener(wake)
        deadline = asyncio.get_running_loop().time() + within
        try:
            while not predicate():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(
                        f"model: waited {within:.1f} s for {what}; last state: "
                        f"mains_on={self._mains_on}, "
                        + "; ".join(self._short(c) for c in self._connectors)
                    )
                event.clear()
                try:
                    await within_deadline(event.wait(), min(remaining, 0.1))
                except TimeoutError:
                    pass
        finally:
            self.remove_listener(wake)

    # --- time ----------------------------------------------------------------------------

    def tick(self, dt: float | None = None) -> None:
        """Integrate energy up to now (or `dt` seconds further, for a model on a manual clock)."""
        self._integrate_to(self._clock() if dt is None else self._time + dt)

    # --- internals -----------------------------------------------------------------------

    def _input_changed(self, c: ConnectorPhysics, name: str, value: object) -> None:
        self._integrate_to(self._clock())
        c.__dict__[name] = value
        changed = {name} | self._derive(c)
        self._notify(ModelChange(c.number, frozenset(changed)))

    def _integrate_to(self, now: float) -> None:
        dt = now - self._time
        if dt <= 0:
            return
        self._time = now
        for c in self._connectors:
            if c.power_w:
                c.__dict__["energy_counted_wh"] = c.energy_counted_wh + c.power_w * dt / 3600.0

    def _derive(self, c: ConnectorPhysics) -> set[str]:
        """Recompute the derived fields of `c`; return the names that changed."""
        state, pos, neg = self._classify(c)
        flowing = (
            self._mains_on and c.plugged and c.contactor_closed and c.allow_power
            and state[0] in "CD" and state != "invalid"
            and not c.pause and not c.stop_request and c.fault is None
        )
        current = max(0.0, min(float(c.requested_current_a), float(c.offered_current_a)))
        if not flowing or current <= 0.0:
            current, voltage = 0.0, 0.0
        else:
            voltage = max(0.0, float(c.target_voltage_v))
        new = {
            "cp_state": state, "cp_voltage_pos_v": pos, "cp_voltage_neg_v": neg,
            "voltage_v": voltage, "current_a": current, "power_w": voltage * current,
            "lock_closed": c.lock_held or (c.locked and c.socket_plug != "half"),
        }
        changed = {k for k, v in new.items() if c.__dict__.get(k) != v}
        c.__dict__.update(new)
        return changed

    def _classify(self, c: ConnectorPhysics) -> tuple[str, float, float]:
        """CP state as the EV emulator measures it, with +/- peak voltages."""
        if not self._mains_on or c.force_e:
            return "E", 0.0, 0.0  # no CP generator, or CP shorted to PE
        if c.fault is not None:
            return "F", -12.0, -12.0
        # on a socket outlet the CP reaches the EV only through the cable's station end
        connected = c.plugged and (not c.socket_outlet or c.socket_plug != "out")
        base = c.cp_request if connected else "A"
        pos = _CP_LEVEL_V[base]
        pwm = 0.0 < c.pwm_duty_pct < 100.0
        if not pwm:
            return f"{base}1", pos, pos  # constant DC level, no negative half
        if c.diode_fault and base in "CD":
            return "invalid", pos, -pos  # the negative half is loaded like the positive one
        return f"{base}2", pos, -12.0

    def _notify(self, change: ModelChange) -> None:
        for listener in list(self._listeners):
            listener(change)

    @staticmethod
    def _short(c: ConnectorPhysics) -> str:
        return (f"connector {c.number}: plugged={c.plugged} cp={c.cp_state} "
                f"contactor={c.contactor_closed} I={c.current_a:g} A U={c.voltage_v:g} V")

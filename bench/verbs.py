"""Bench verbs: the only place that knows the wiring of the rig.

Test plans say `await bench.plug_in(1)`, `await bench.present_card("valid")`,
`await bench.power_cycle(5)`; which instrument does it is decided here from the rig file:
each instrument sits in the slot of its driver's role (instruments.roles), typed by that
role's Protocol, and is built by its driver's registration (instruments.registry). Every
verb records what it commanded, what it read back and when
(`record.event("verb", name, ...)`): `issued_mono_ns` just before the decisive command went
to the instrument, `confirmed_mono_ns` when the instrument acknowledged it. A verb returns
the issue stamp (ns): latencies start there, so a station that reacts before the instrument's
acknowledgement is back still shows a positive latency. The event is placed at the issue stamp.

An instrument that stops answering makes the bench *broken* (`bench.broken` holds the cause):
every later verb raises BenchBroken, so the remaining cases end as ERROR, not FAIL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.config.rig import InstrumentConfig, Rig
from bench.netcut import OfflineDetection
from instruments.errors import InstrumentError
from instruments.interfaces import (
    CardPresenter,
    CardReader,
    EvEmulator,
    EvState,
    Instrument,
    MainsSwitch,
    MeterReading,
    NetworkCut,
    PowerMeter,
    SocketActuators,
    SocketState,
)
from instruments.registration import BuildContext, DriverRegistration
from instruments.registry import DRIVER_GROUP, RegistryError, registry
from instruments.roles import ROLES, Role, missing_members

__all__ = ["Bench", "BenchBroken", "BenchConfigError", "Placed", "build_driver"]


class BenchBroken(InstrumentError):
    """An earlier instrument fault left the rig in an unknown state; the case is an ERROR."""


class BenchConfigError(InstrumentError):
    """The rig has no instrument for what the verb needs (e.g. no card presenter)."""

    fatal = False


# -- drivers from the rig file ---------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """One instrument of the rig as the bench holds it: its driver object in its role's slot."""

    name: str
    registration: DriverRegistration
    role: Role
    connector: int | None  # connector-bound roles: the connector it serves
    driver: Any  # satisfies role.protocol (checked when built)


def build_driver(cfg: InstrumentConfig, rig: Rig, csms: Any = None) -> Any:
    """The driver object for one [instruments.NAME] table (not yet activated), built by its
    registration and checked against the Protocol it claims to provide."""
    reg = registry().driver(cfg.driver)
    origin = registry().origin(DRIVER_GROUP, cfg.driver)
    built = reg.build(BuildContext(cfg.name, dict(cfg.params), rig.facts(), csms))
    missing = missing_members(built, reg.provides)
    if missing:
        raise RegistryError(f"{rig.path}: [instruments.{cfg.name}] driver {cfg.driver!r} of "
                            f"{origin}: built a {type(built).__name__} without "
                            f"{', '.join(missing)} of {reg.provides.__name__}")
    return built


def place(cfg: InstrumentConfig, driver: Any) -> Placed:
    reg = registry().driver(cfg.driver)
    connector = cfg.connector if cfg.connector is not None else cfg.params.get("connector")
    return Placed(cfg.name, reg, ROLES[reg.role],
                  connector if reg.binding == "connector" else None, driver)


# -- the facade ------------------------------------------------------------------------------


class Bench:
    """The verbs over the rig's instruments, each in its role's slot (typed by Protocol)."""

    def __init__(self, rig: Rig, record: Any, drivers: dict[str, Any], csms: Any = None) -> None:
        self.rig = rig
        self.record = record
        self.csms = csms
        self.drivers = drivers
        self.broken: str | None = None
        self.evs: dict[int, EvEmulator] = {}
        self.meters: dict[int, PowerMeter] = {}
        self.card_presenter: CardPresenter | None = None
        self.card_reader: CardReader | None = None
        self.mains: MainsSwitch | None = None
        self.network: NetworkCut | None = None
        self.placed = [place(rig.instruments[name], d) for name, d in drivers.items()]
        for p in self.placed:
            slot = _SLOTS[p.role.name]
            if p.role.binding == "connector":
                assert p.connector is not None
                getattr(self, slot).setdefault(p.connector, p.driver)
            elif getattr(self, slot) is None:
                setattr(self, slot, p.driver)

    @classmethod
    def from_rig(cls, rig: Rig, record: Any, csms: Any = None) -> Bench:
        drivers = {name: build_driver(cfg, rig, csms) for name, cfg in rig.instruments.items()}
        return cls(rig, record, drivers, csms)

    def lacks(self, role: str) -> str | None:
        """Why a step that needs an instrument of `role` cannot apply to this rig (None: the
        rig has one)."""
        if any(p.role.name == role for p in self.placed):
            return None
        return f"the rig has no {ROLES[role].title} ({self.rig.path} [instruments])"

    # -- lifecycle ---------------------------------------------------------------------------
    def instruments(self) -> list[Instrument]:
        """Every instrument of the rig, in the rig file's order."""
        return [p.driver for p in self.placed]

    async def activate(self, readonly: bool = False) -> list[dict[str, Any]]:
        """Open, identify and check every instrument; records the `instruments` snapshot.

        All instruments are tried; the first failure is raised after the snapshot is written
        (and marks the bench broken). An instrument of a role campaigns do not need (the
        enrolment card reader) is only recorded when it fails. What the rig lacks is said
        here, once (event `rig-lacks`): the steps that would need it are skipped.
        """
        identities: list[dict[str, Any]] = []
        first_error: InstrumentError | None = None
        for p in self.placed:
            d = p.driver
            try:
                ident = await d.activate(readonly=readonly)
                identities.append(ident.as_dict())
                self._event("instrument", d.name, action="activate", driver=d.driver,
                            address=d.address, identity=ident.identity)
            except InstrumentError as exc:
                identities.append({"name": d.name, "driver": d.driver, "address": d.address,
                                   "identity": None, "error": str(exc)})
                self._event("instrument", d.name, action="activate", driver=d.driver,
                            address=d.address, error=str(exc))
                if p.role.campaign_needs:
                    first_error = first_error or exc
        if self.record is not None:
            self.record.snapshot("instruments", identities)
            lacking = {r.name: why for r in ROLES.values()
                       if r.campaign_needs and (why := self.lacks(r.name)) is not None}
            if lacking:
                self._event("log", "rig-lacks", roles=lacking,
                            note="steps that need these instruments are skipped (maintenance, "
                                 "safe state); cases that need them are N/A")
        if first_error is not None:
            self.broken = str(first_error)
            raise first_error
        return identities

    async def deactivate(self) -> None:
        for d in self.instruments():
            await d.deactivate()

    def attach_station(self, station: Any) -> None:
        """Give the network driver the CSMS station session (saves a lookup at cut time)."""
        if self.network is not None:
            self.network.station = station

    # -- plumbing ----------------------------------------------------------------------------
    def _event(self, kind: str, name: str, mono_ns: int | None = None, **detail: Any) -> None:
        if self.record is not None:
            self.record.event(kind, name, mono_ns=mono_ns, **detail)

    def check_not_broken(self) -> None:
        if self.broken is not None:
            raise BenchBroken("bench", "rig", f"an earlier instrument fault: {self.broken}")

    def ev(self, connector: int) -> EvEmulator:
        try:
            return self.evs[connector]
        except KeyError:
            raise BenchConfigError("bench", str(self.rig.path),
                                   f"no EV emulator on connector {connector} (rig has "
                                   f"{_on_connectors(self.evs)})") from None

    def meter(self, connector: int | None = None) -> PowerMeter:
        if connector is None and self.meters:
            return next(iter(self.meters.values()))
        if connector in self.meters:
            return self.meters[connector]
        raise BenchConfigError("bench", str(self.rig.path),
                               f"no power meter on connector {connector} (rig has "
                               f"{_on_connectors(self.meters)})")

    def _need(self, thing: Any, what: str) -> Any:
        if thing is None:
            raise BenchConfigError("bench", str(self.rig.path), f"the rig has no {what}")
        return thing

    async def _verb(self, name: str, commanded: dict[str, Any],
                    action: Callable[[], Awaitable[None]],
                    readback: Callable[[], Awaitable[Any]] | None = None,
                    after: Callable[[], Awaitable[None]] | None = None,
                    prepare: Callable[[], Awaitable[None]] | None = None) -> int:
        """Run one verb: `prepare` (commands that set the stage), the decisive `action`
        (issue stamp before it, confirmation stamp when acknowledged), then `after`, then
        read back. Returns the issue stamp."""
        self.check_not_broken()
        started = time.monotonic_ns()
        issued: int | None = None
        confirmed: int | None = None
        try:
            if prepare is not None:
                await prepare()
            issued = time.monotonic_ns()
            await action()
            confirmed = time.monotonic_ns()
            if after is not None:
                await after()
            seen = await readback() if readback is not None else None
        except InstrumentError as exc:
            if exc.fatal:
                self.broken = str(exc)
            self._event("verb", name, mono_ns=issued, commanded=commanded, error=str(exc),
                        started_mono_ns=started, issued_mono_ns=issued,
                        confirmed_mono_ns=confirmed, broken=exc.fatal)
            raise
        except Exception as exc:  # e.g. the CSMS session API: recorded, the case decides
            self._event("verb", name, mono_ns=issued, commanded=commanded,
                        error=f"{type(exc).__name__}: {exc}", started_mono_ns=started,
                        issued_mono_ns=issued, confirmed_mono_ns=confirmed, broken=False)
            raise
        if hasattr(seen, "as_dict"):
            seen = seen.as_dict()
        self._event("verb", name, mono_ns=issued, commanded=commanded, readback=seen,
                    started_mono_ns=started, issued_mono_ns=issued, confirmed_mono_ns=confirmed,
                    confirm_ms=round((confirmed - issued) / 1e6, 3),
                    duration_ms=round((time.monotonic_ns() - started) / 1e6, 3))
        return issued

    # -- EV ----------------------------------------------------------------------------------
    async def plug_in(self, connector: int = 1) -> int:
        """The EV's plug goes into the inlet: PP present, CP state B. On a socket rig the
        cable's station end is seated in the station's socket first."""
        ev = self.ev(connector)
        socket = self._socket(connector)

        async def act() -> None:  # a station may react to any of these: all after the stamp
            if socket is not None:
                await socket.socket_plug("seated")
            await ev.set_cp_state("B")
            await ev.plug()

        return await self._verb("plug_in", {"connector": connector, "plugged": 1, "cp": "B",
                                            **({"socket_plug": "seated"} if socket else {})},
                                act, self._ev_readback(connector))

    async def half_plug(self, connector: int = 1) -> int:
        """Socket rigs: the EV end goes in and the cable's station end only half into the
        socket (contacts made, the lock pin cannot engage): TC_024's lock failure."""
        ev, socket = self.ev(connector), self._need_socket(connector, "half_plug")

        async def act() -> None:
            await socket.socket_plug("half")
            await ev.set_cp_state("B")
            await ev.plug()

        return await self._verb("half_plug", {"connector": connector, "plugged": 1, "cp": "B",
                                              "socket_plug": "half"},
                                act, self._ev_readback(connector))

    async def unplug(self, connector: int = 1) -> int:
        """The plug leaves the inlet (state A); the emulator is then reset for the next EV. On
        a socket rig the whole cable goes: the EV end, then (once the station let the lock go,
        within lock_release_s) the station end."""
        ev = self.ev(connector)
        socket = self._socket(connector)

        async def act() -> None:  # a station may react to either: both after the issue stamp
            await ev.set_cp_state("A")
            await ev.unplug()

        async def reset() -> None:
            if socket is not None:
                await self._pull_station_end(socket)
            await ev.allow_power(False)
            await ev.request_current(0)
            await ev.pause(False)
            await ev.stop(False)

        return await self._verb("unplug", {"connector": connector, "plugged": 0, "cp": "A",
                                           **({"socket_plug": "out"} if socket else {})},
                                act, self._ev_readback(connector), after=reset)

    async def unplug_ev_side(self, connector: int = 1) -> int:
        """Only the EV end of the cable leaves the EV (state A); on a socket rig the station end
        stays in the socket. On a fixed cable this is `unplug`."""
        socket = self._socket(connector)
        if socket is None:
            return await self.unplug(connector)
        ev = self.ev(connector)

        async def act() -> None:
            await ev.set_cp_state("A")
            await ev.unplug()

        return await self._verb("unplug_ev_side", {"connector": connector, "plugged": 0,
                                                   "cp": "A"},
                                act, self._ev_readback(connector))

    async def unplug_station_side(self, connector: int = 1) -> int:
        """Socket rigs: the cable's station end is pulled from the socket. A lock still closed
        after lock_release_s holds it in: the read-back then says seated (and lock_closed)."""
        socket = self._need_socket(connector, "unplug_station_side")

        async def wait_released() -> None:
            await self._lock_released(socket)

        return await self._verb("unplug_station_side", {"connector": connector,
                                                        "socket_plug": "out"},
                                lambda: socket.socket_plug("out"), socket.read_socket,
                                prepare=wait_released)

    async def hold_lock(self, connector: int, held: bool) -> int:
        """Socket rigs: the rig holds the socket's lock pin engaged (held=True) so that the
        station cannot open it (TC_030), or lets it go. The read-back must show it."""
        socket = self._need_socket(connector, "hold_lock")

        async def act() -> None:
            await socket.hold_lock(held)
            state = await socket.read_socket()
            if state.lock_held != held or (held and not state.lock_closed):
                raise InstrumentError(self._name_of(connector), self._address_of(connector),
                                      f"hold_lock({held}) did not take: read back {state}",
                                      fatal=False)

        return await self._verb("hold_lock", {"connector": connector, "lock_held": held},
                                act, socket.read_socket)

    async def socket_state(self, connector: int = 1) -> SocketState:
        """Socket rigs: where the cable's station end is and whether the lock pin is engaged."""
        self.check_not_broken()
        socket = self._need_socket(connector, "socket_state")
        state = await self._guard(socket.read_socket())
        self._event("instrument", f"{self._name_of(connector)}.socket", **state.as_dict())
        return state

    # -- socket rigs: the cable's station end and the lock -------------------------------------
    lock_release_s = 5.0  # how long a pull waits for the station to open its lock (setting)
    lock_poll_s = 0.05

    def has_socket(self, connector: int) -> bool:
        """A socket rig whose EV emulator on `connector` has the socket actuators."""
        return self._socket(connector) is not None

    def _socket(self, connector: int) -> SocketActuators | None:
        """The connector's socket actuators, on a socket rig whose EV emulator has them."""
        if self.rig.hardware.get("fixed_cable", False):
            return None
        ev = self.evs.get(connector)
        if isinstance(ev, SocketActuators) and ev.socket_actuated:
            return ev
        return None

    def socket_gaps(self) -> dict[str, str]:
        """EV emulators of a socket rig that cannot seat or pull the cable, by name: the socket
        verbs (TC_005_1, TC_017_1, TC_018_1, TC_024) would end those cases in ERROR."""
        if self.rig.hardware.get("fixed_cable", False):
            return {}
        return {ev.name: f"a socket rig ([hardware] fixed_cable = false) but {ev.name} "
                         f"(connector {c}) has no socket actuators: the socket cases would "
                         "end in ERROR (register map bench-ev-v2 has them)"
                for c, ev in sorted(self.evs.items()) if self._socket(c) is None}

    def _need_socket(self, connector: int, verb: str) -> SocketActuators:
        self.ev(connector)
        socket = self._socket(connector)
        if socket is None:
            why = ("the rig has a fixed cable ([hardware] fixed_cable = true)"
                   if self.rig.hardware.get("fixed_cable", False) else
                   f"its EV emulator {self._name_of(connector)} has no socket actuators "
                   "(register map bench-ev-v2 has them)")
            raise BenchConfigError("bench", str(self.rig.path),
                                   f"{verb}(connector {connector}) needs a socket rig: {why}")
        return socket

    def _name_of(self, connector: int) -> str:
        return self.ev(connector).name

    def _address_of(self, connector: int) -> str:
        return self.ev(connector).address

    def _ev_readback(self, connector: int) -> Callable[[], Awaitable[dict[str, Any]]]:
        ev, socket = self.ev(connector), self._socket(connector)

        async def read() -> dict[str, Any]:
            out = (await ev.read_state()).as_dict()
            if socket is not None:
                out.update((await socket.read_socket()).as_dict())
            return out

        return read

    async def _lock_released(self, socket: SocketActuators) -> SocketState:
        """Wait (lock_release_s) for the lock pin to open; return what was read last."""
        deadline = time.monotonic() + self.lock_release_s
        state = await socket.read_socket()
        while state.lock_closed and time.monotonic() < deadline:
            await asyncio.sleep(self.lock_poll_s)
            state = await socket.read_socket()
        return state

    async def _pull_station_end(self, socket: SocketActuators) -> None:
        await socket.hold_lock(False)
        await self._lock_released(socket)
        await socket.socket_plug("out")

    async def ev_start_charging(self, connector: int = 1, current_a: float = 32.0,
                                voltage_v: float = 400.0) -> int:
        """EV ready to charge: requests set, power allowed, state C (stamp at state C)."""
        ev = self.ev(connector)

        async def requests() -> None:
            await ev.request_voltage(voltage_v)
            await ev.request_current(current_a)
            await ev.pause(False)
            await ev.stop(False)
            await ev.allow_power(True)

        return await self._verb("ev_start_charging",
                                {"connector": connector, "current_a": current_a,
                                 "voltage_v": voltage_v, "allow_power": 1, "cp": "C"},
                                lambda: ev.set_cp_state("C"), ev.read_state, prepare=requests)

    async def ev_pause(self, connector: int = 1) -> int:
        ev = self.ev(connector)
        return await self._verb("ev_pause", {"connector": connector, "pause": 1},
                                lambda: ev.pause(True), ev.read_state)

    async def ev_resume(self, connector: int = 1) -> int:
        ev = self.ev(connector)
        return await self._verb("ev_resume", {"connector": connector, "pause": 0},
                                lambda: ev.pause(False), ev.read_state)

    async def ev_stop(self, connector: int = 1) -> int:
        """EV ends the session: stop request, power no longer allowed, back to state B."""
        ev = self.ev(connector)
        # the stop request is what the station acts on; the rest follows it
        async def rest() -> None:
            await ev.allow_power(False)
            await ev.set_cp_state("B")

        return await self._verb("ev_stop", {"connector": connector, "stop_request": 1,
                                            "allow_power": 0, "cp": "B"},
                                lambda: ev.stop(True), ev.read_state, after=rest)

    async def inject_fault(self, kind: str, connector: int = 1, on: bool = True) -> int:
        """kind: diode_fault or state_e (CP shorted to PE)."""
        ev = self.ev(connector)
        return await self._verb("inject_fault", {"connector": connector, "kind": kind, "on": on},
                                lambda: ev.inject_fault(kind, on), ev.read_state)

    async def ev_alive(self, connector: int = 1, within_s: float = 2.5) -> int:
        """Watchdog: the emulator's heartbeat register must advance within within_s."""
        self.check_not_broken()
        ev = self.ev(connector)
        beat = await self._guard(ev.check_alive(within_s))
        self._event("instrument", f"{ev.name}.heartbeat", heartbeat=beat)
        return beat

    async def ev_state(self, connector: int = 1) -> EvState:
        self.check_not_broken()
        ev = self.ev(connector)
        state = await self._guard(ev.read_state())
        self._event("instrument", f"{ev.name}.state", **state.as_dict())
        return state

    # -- cards -------------------------------------------------------------------------------
    async def present_card(self, tag: str, hold_s: float | None = None) -> int:
        """Put the card `tag` of the rig's catalogue on the station's reader.

        With hold_s the card is taken away again after that long (a swipe; with a presenter
        that sees the reader read the card, that long after the read); the stamp is when it
        was presented.
        """
        presenter = self._need(self.card_presenter, "card presenter")
        card = self.rig.card(tag)
        if card.uid is None:
            raise BenchConfigError("bench", str(self.rig.path),
                                   f"[cards.{tag}] (idTag {card.id_tag}) has no uid: a card "
                                   "without a UID can be used by remote starts but not "
                                   "presented to the station's reader")
        uid = card.uid

        async def hold() -> None:
            if hold_s is not None:
                # a presenter that sees the reader's read (vpcd) holds the card hold_s past it,
                # up to its own timeout for a station that never reads
                wait_read = getattr(presenter, "wait_read", None)
                if wait_read is not None:
                    await wait_read(float(getattr(presenter, "timeout_s", 5.0)))
                await asyncio.sleep(hold_s)
                await presenter.remove()

        async def seen() -> dict[str, Any]:
            out: dict[str, Any] = {"presented": presenter.presented}
            if hasattr(presenter, "seen"):
                out["reader_traffic"] = list(presenter.seen)[:20]
            return out

        wait_absent = getattr(presenter, "wait_absent", None)
        if wait_absent is not None:  # the previous card's absence first, outside the stamps
            await wait_absent()
        return await self._verb("present_card", {"tag": tag, "uid": uid, "id_tag": card.id_tag,
                                                 "hold_s": hold_s},
                                lambda: presenter.present(uid), seen, after=hold)

    async def remove_card(self) -> int:
        presenter = self._need(self.card_presenter, "card presenter")

        async def seen() -> dict[str, Any]:
            return {"presented": presenter.presented}

        return await self._verb("remove_card", {}, presenter.remove, seen)

    async def read_card_uid(self, timeout_s: float = 10.0) -> str:
        """Enrolment: the UID of the card on the bench's own PC/SC reader."""
        reader = self._need(self.card_reader, "PC/SC card reader")
        self.check_not_broken()
        uid = await self._guard(reader.read_uid(timeout_s))
        self._event("instrument", f"{reader.name}.uid", uid=uid, reader=reader.address)
        return uid

    # -- mains -------------------------------------------------------------------------------
    async def power_off(self) -> int:
        mains = self._need(self.mains, "mains switch")
        return await self._verb("power_off", {"mains": "off"}, mains.off, self._mains_state)

    async def power_on(self) -> int:
        mains = self._need(self.mains, "mains switch")
        return await self._verb("power_on", {"mains": "on"}, mains.on, self._mains_state)

    async def power_cycle(self, off_s: float = 5.0) -> int:
        """Mains off, wait off_s, mains on; the stamp is when mains-on was issued."""
        await self.power_off()
        await asyncio.sleep(off_s)
        return await self.power_on()

    async def _mains_state(self) -> dict[str, Any]:
        mains = self._need(self.mains, "mains switch")
        return {"mains_on": await mains.state()}

    # -- network -----------------------------------------------------------------------------
    async def cut_network(self, seconds: float) -> int:
        net = self._need(self.network, "network driver")
        return await self._verb("cut_network", {"seconds": seconds, "driver": net.driver},
                                lambda: net.cut(seconds), self._detection_readback)

    async def restore_network(self, reconnect_timeout_s: float | None = None) -> int:
        net = self._need(self.network, "network driver")
        return await self._verb("restore_network", {"driver": net.driver},
                                lambda: net.restore(reconnect_timeout_s),
                                self._detection_readback)

    def offline_detection(self) -> OfflineDetection | None:
        """When the station was seen to notice the last cut (None: no cut yet)."""
        return self._need(self.network, "network driver").detection()

    async def _detection_readback(self) -> dict[str, Any] | None:
        seen = self.offline_detection()
        return seen.as_dict() if seen is not None else None

    # -- reference meter ---------------------------------------------------------------------
    async def meter_read(self, connector: int | None = None) -> MeterReading:
        self.check_not_broken()
        meter = self.meter(connector)
        reading = await self._guard(meter.read())
        self._event("instrument", f"{meter.name}.read", **reading.as_dict())
        return reading

    async def energy_window_start(self, connector: int | None = None) -> int:
        """Reset and start the reference integrator (stamp = start issued, after the reset)."""
        meter = self.meter(connector)

        async def seen() -> dict[str, Any]:
            return {"state": await meter.integrator_state()}

        return await self._verb("energy_window_start", {"meter": meter.name},
                                meter.integrator_start, seen, prepare=meter.integrator_reset)

    async def energy_window_stop(self, connector: int | None = None) -> int:
        meter = self.meter(connector)

        async def seen() -> dict[str, Any]:
            return {"state": await meter.integrator_state(),
                    "energy_wh": await meter.energy_wh()}

        return await self._verb("energy_window_stop", {"meter": meter.name},
                                meter.integrator_stop, seen)

    async def energy_window_read(self, connector: int | None = None) -> float:
        """The reference energy (Wh) since energy_window_start."""
        self.check_not_broken()
        meter = self.meter(connector)
        wh = await self._guard(meter.energy_wh())
        self._event("instrument", f"{meter.name}.energy", energy_wh=wh)
        return wh

    async def _guard(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except InstrumentError as exc:
            if exc.fatal:
                self.broken = str(exc)
            raise


# the Bench attribute that holds each role's instrument(s)
_SLOTS = {"ev": "evs", "meter": "meters", "card": "card_presenter", "reader": "card_reader",
          "mains": "mains", "network": "network"}


def _on_connectors(slot: dict[int, Any]) -> str:
    return ", ".join(f"{d.name} on {n}" for n, d in sorted(slot.items())) or "none"

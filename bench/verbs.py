"""Bench verbs: the only place that knows the wiring of the rig.

Test plans say `await bench.plug_in(1)`, `await bench.present_card("valid")`,
`await bench.power_cycle(5)`; which driver does it, at which address, is decided here from the
rig file. Every verb records what it commanded, what it read back and when
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
from typing import Any

from bench.config.rig import InstrumentConfig, Rig
from bench.netcut import (
    DEFAULT_DETECTION_TIMEOUT_S,
    HandshakeWatch,
    NetworkCut,
    NftDropNetwork,
    OfflineDetection,
    csms_session,
    csms_side_detection,
)
from instruments.base import Driver
from instruments.card_presenters import ManualCardPresenter, RelayCardPresenter
from instruments.errors import InstrumentError
from instruments.interfaces import EvState, MeterReading
from instruments.mains import ModbusCoilMains, ScpiSourceMains
from instruments.modbus_ev import ModbusEvEmulator
from instruments.nftables import NftDropFilter
from instruments.pcsc_reader import PcscCardReader
from instruments.scpi_meter import ScpiPowerMeter
from instruments.vpcd_card import VpcdCardPresenter


class BenchBroken(InstrumentError):
    """An earlier instrument fault left the rig in an unknown state; the case is an ERROR."""


class BenchConfigError(InstrumentError):
    """The rig has no instrument for what the verb needs (e.g. no card presenter)."""

    fatal = False


# -- network: the CSMS closes the station's socket ------------------------------------------


class CsmsSideNetwork:
    """Network cut as seen from the CSMS: close the station's socket and refuse reconnects.

    The station sees a clean close at once, not a lost link: for rigs that cannot route the
    station through the bench host (a pulled cable is `nft-drop`, bench/netcut.py).
    """

    driver = "csms-side"

    def __init__(self, name: str, csms: Any, station_id: str) -> None:
        self.name = name
        self.address = "csms"
        self.csms = csms
        self.station_id = station_id
        self.station: Any = None  # a CSMS station session, attached by the plan or looked up
        self.refuse_until_mono: float = 0.0
        self.handshakes = HandshakeWatch(getattr(csms, "record", None), station_id)
        self.cut_mono_ns: int | None = None

    async def _session(self, timeout_s: float) -> Any:
        if self.station is None:
            self.station = await csms_session(self.csms, self.station_id, timeout_s,
                                              self.name, self.address)
        return self.station

    async def cut(self, seconds: float, timeout_s: float = 10.0) -> None:
        station = await self._session(timeout_s)
        self.cut_mono_ns = time.monotonic_ns()
        self.handshakes.arm(self.cut_mono_ns)
        await station.disconnect(refuse_for=seconds)
        self.refuse_until_mono = time.monotonic() + seconds

    async def restore(self, reconnect_timeout_s: float | None = None) -> None:
        """The refusal ends by itself: wait it out, then optionally for the reconnection."""
        remaining = self.refuse_until_mono - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        if reconnect_timeout_s is not None and self.station is not None:
            await self.station.wait_reconnected(reconnect_timeout_s)

    def detection(self) -> OfflineDetection | None:
        """The station's first handshake after the cut (its reconnect attempt)."""
        if self.cut_mono_ns is None:
            return None
        return csms_side_detection(self.cut_mono_ns, self.handshakes.first)


# -- drivers from the rig file ---------------------------------------------------------------


def build_driver(cfg: InstrumentConfig, rig: Rig, csms: Any = None) -> Any:
    """The driver object for one [instruments.NAME] table (not yet activated)."""
    p = cfg.params
    timeout = p.get("timeout_s")
    if cfg.driver == "modbus-ev":
        return ModbusEvEmulator(cfg.name, p["host"], p["port"], p["device_id"],
                                p["register_map"], p["connector"], timeout or 1.0,
                                p.get("retries", 2), map_base=rig.path.parent)
    if cfg.driver == "scpi-meter":
        return ScpiPowerMeter(cfg.name, p["resource"], p.get("visa_library", "@py"),
                              p.get("dialect", "generic"), p["connector"], p.get("channel", 1),
                              timeout or 2.0)
    if cfg.driver == "vpcd-card":
        return VpcdCardPresenter(cfg.name, p["host"], p["port"], timeout or 5.0)
    if cfg.driver == "relay-card":
        coils = {rig.card(tag).uid_bytes.hex().upper(): coil for tag, coil in p["coils"].items()}
        return RelayCardPresenter(cfg.name, p["host"], p["port"], p["device_id"], coils,
                                  timeout or 1.0)
    if cfg.driver == "manual-card":
        return ManualCardPresenter(cfg.name, timeout or 60.0)
    if cfg.driver == "pcsc-reader":
        return PcscCardReader(cfg.name, p.get("reader"), timeout or 5.0)
    if cfg.driver == "modbus-coil":
        return ModbusCoilMains(cfg.name, p["host"], p["port"], p["device_id"], p.get("coil", 0),
                               timeout or 1.0)
    if cfg.driver == "scpi-source":
        return ScpiSourceMains(cfg.name, p["resource"], p.get("visa_library", "@py"),
                               timeout or 2.0)
    if cfg.driver == "csms-side":
        return CsmsSideNetwork(cfg.name, csms, rig.station.id)
    if cfg.driver == "nft-drop":
        packet_filter = NftDropFilter(cfg.name, p["station_address"], p.get("interface"),
                                      timeout or 5.0)
        return NftDropNetwork(cfg.name, packet_filter, csms, rig.station.id, rig.csms.port,
                              p.get("detection_timeout_s", DEFAULT_DETECTION_TIMEOUT_S))
    raise ValueError(f"{rig.path}: [instruments.{cfg.name}] driver {cfg.driver!r} has no builder")


# -- the facade ------------------------------------------------------------------------------


class Bench:
    def __init__(self, rig: Rig, record: Any, drivers: dict[str, Any], csms: Any = None) -> None:
        self.rig = rig
        self.record = record
        self.csms = csms
        self.drivers = drivers
        self.broken: str | None = None
        self.evs: dict[int, ModbusEvEmulator] = {}
        self.meters: dict[int, ScpiPowerMeter] = {}
        self.card_presenter: Any = None
        self.card_reader: PcscCardReader | None = None
        self.mains: Any = None
        self.network: NetworkCut | None = None
        for d in drivers.values():
            if isinstance(d, ModbusEvEmulator):
                self.evs[d.connector] = d
            elif isinstance(d, ScpiPowerMeter):
                self.meters.setdefault(d.connector, d)
            elif isinstance(d, VpcdCardPresenter | RelayCardPresenter | ManualCardPresenter):
                self.card_presenter = self.card_presenter or d
            elif isinstance(d, PcscCardReader):
                self.card_reader = d
            elif isinstance(d, ModbusCoilMains | ScpiSourceMains):
                self.mains = d
            elif isinstance(d, CsmsSideNetwork | NftDropNetwork):
                self.network = d

    @classmethod
    def from_rig(cls, rig: Rig, record: Any, csms: Any = None) -> Bench:
        drivers = {name: build_driver(cfg, rig, csms) for name, cfg in rig.instruments.items()}
        return cls(rig, record, drivers, csms)

    # -- lifecycle ---------------------------------------------------------------------------
    def instruments(self) -> list[Driver]:
        """The drivers with an I/O lifecycle (everything except the csms-side network)."""
        return [d for d in self.drivers.values() if isinstance(d, Driver)]

    async def activate(self, readonly: bool = False) -> list[dict[str, Any]]:
        """Open, identify and check every instrument; records the `instruments` snapshot.

        All instruments are tried; the first failure is raised after the snapshot is written
        (and marks the bench broken). The enrolment card reader is only recorded when it
        fails: campaigns never use it.
        """
        identities: list[dict[str, Any]] = []
        first_error: InstrumentError | None = None
        for d in self.instruments():
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
                if isinstance(d, PcscCardReader):
                    continue  # enrolment only: a campaign does not need the bench's reader
                first_error = first_error or exc
        if self.network is not None and not isinstance(self.network, Driver):
            identities.append({"name": self.network.name, "driver": self.network.driver,
                               "address": self.network.address, "identity": "CSMS session API"})
        if self.record is not None:
            self.record.snapshot("instruments", identities)
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

    def ev(self, connector: int) -> ModbusEvEmulator:
        try:
            return self.evs[connector]
        except KeyError:
            raise BenchConfigError("bench", str(self.rig.path),
                                   f"no EV emulator on connector {connector} (rig has "
                                   f"{sorted(self.evs) or 'none'})") from None

    def meter(self, connector: int | None = None) -> ScpiPowerMeter:
        if connector is None and self.meters:
            return next(iter(self.meters.values()))
        if connector in self.meters:
            return self.meters[connector]
        raise BenchConfigError("bench", str(self.rig.path),
                               f"no power meter on connector {connector} (rig has "
                               f"{sorted(self.meters) or 'none'})")

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
        """The EV's plug goes into the inlet: PP present, CP state B."""
        ev = self.ev(connector)

        async def act() -> None:  # a station may react to either: both after the issue stamp
            await ev.set_cp_state("B")
            await ev.plug()

        return await self._verb("plug_in", {"connector": connector, "plugged": 1, "cp": "B"},
                                act, ev.read_state)

    async def unplug(self, connector: int = 1) -> int:
        """The plug leaves the inlet (state A); the emulator is then reset for the next EV."""
        ev = self.ev(connector)

        async def act() -> None:  # a station may react to either: both after the issue stamp
            await ev.set_cp_state("A")
            await ev.unplug()

        async def reset() -> None:
            await ev.allow_power(False)
            await ev.request_current(0)
            await ev.pause(False)
            await ev.stop(False)

        return await self._verb("unplug", {"connector": connector, "plugged": 0, "cp": "A"},
                                act, ev.read_state, after=reset)

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
        beat = await self._guard(self.ev(connector).check_alive(within_s))
        self._event("instrument", f"ev{connector}.heartbeat", heartbeat=beat)
        return beat

    async def ev_state(self, connector: int = 1) -> EvState:
        self.check_not_broken()
        state = await self._guard(self.ev(connector).read_state())
        self._event("instrument", f"ev{connector}.state", **state.as_dict())
        return state

    # -- cards -------------------------------------------------------------------------------
    async def present_card(self, tag: str, hold_s: float | None = None) -> int:
        """Put the card `tag` of the rig's catalogue on the station's reader.

        With hold_s the card is taken away again after that long (a swipe); the stamp is
        when it was presented.
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
                await asyncio.sleep(hold_s)
                await presenter.remove()

        async def seen() -> dict[str, Any]:
            out: dict[str, Any] = {"presented": presenter.presented}
            if hasattr(presenter, "seen"):
                out["reader_traffic"] = list(presenter.seen)[:20]
            return out

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
        self._event("instrument", "card_reader.uid", uid=uid, reader=reader.reader_name)
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
        return {"mains_on": await self.mains.state()}

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

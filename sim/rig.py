"""The simulated rig in one asyncio process: model, twins, private pcscd and the station.

    rig = SimRig(load_rig("rigs/sim.toml"), csms_url=None, ephemeral=True)
    await rig.start()          # raises SimRigError naming the cause (port in use, no pcscd...)
    rig.endpoints()            # the JSON of `READY` (docs/contracts.md)
    await rig.stop()           # station socket closed, servers closed, pcscd stopped and reaped

The rig learns its twins from the rig file's instruments, by the role and the simulated-rig
endpoint their drivers registered (instruments.registry): an EV emulator on the modbus
endpoint is an EV twin (its device id, register map and connector), a mains switch there is
the mains coil, a power meter on the scpi endpoint is the meter twin on its connector, a card
presenter on the vpcd endpoint gives the vpcd port. All Modbus twins share one server (one
host/port). A lab's own driver that registers such a role and endpoint gets its twin too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.config.rig import InstrumentConfig, Rig
from instruments.deadline import within_deadline
from instruments.registry import registry
from sim.model import RigModel
from sim.pcsc import PcscdError, PrivatePcscd
from sim.twins.errors import TwinServerError
from sim.twins.ev import EvTwin, MainsTwin, ModbusDevice
from sim.twins.meter import MeterTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import RegisterMapError, load_register_map

log = logging.getLogger(__name__)

TICK_S = 0.05
DEFAULT_MODBUS_PORT = 15020
DEFAULT_METER_PORT = 15025
DEFAULT_VPCD_PORT = 35963


class SimRigError(RuntimeError):
    """The simulated rig cannot start; the message names the part and the cause."""


@dataclass
class RigLayout:
    """What the rig file asks the simulated rig to serve."""

    modbus_host: str = "127.0.0.1"
    modbus_port: int = DEFAULT_MODBUS_PORT
    evs: list[tuple[int, int, str]] = field(default_factory=list)  # device id, connector, map
    mains: tuple[int, int] | None = None  # device id, coil
    meter_host: str = "127.0.0.1"
    meter_port: int = DEFAULT_METER_PORT
    meter_connector: int = 1
    vpcd_port: int = DEFAULT_VPCD_PORT

    @classmethod
    def from_rig(cls, rig: Rig) -> RigLayout:
        layout = cls()
        modbus: set[tuple[str, int]] = set()
        for inst in rig.instruments.values():
            p = inst.params
            twin = (inst.role, registry().driver(inst.driver).sim_endpoint)
            if twin == ("ev", "modbus"):
                _needs(rig, inst, "device_id", "register_map", "host", "port")
                layout.evs.append((int(p["device_id"]), int(p["connector"]),
                                   str(p["register_map"])))
                modbus.add((p["host"], int(p["port"])))
            elif twin == ("mains", "modbus"):
                _needs(rig, inst, "device_id", "host", "port")
                layout.mains = (int(p["device_id"]), int(p.get("coil", 0)))
                modbus.add((p["host"], int(p["port"])))
            elif twin == ("meter", "scpi"):
                _needs(rig, inst, "resource")
                m = re.fullmatch(r"TCPIP0?::([^:]+)::(\d+)::SOCKET", str(p["resource"]))
                if m is None:
                    raise SimRigError(f"{rig.path}: [instruments.{inst.name}] resource = "
                                      f"{p['resource']!r}: the meter twin serves only "
                                      "TCPIP::HOST::PORT::SOCKET")
                layout.meter_host, layout.meter_port = m.group(1), int(m.group(2))
                layout.meter_connector = int(p["connector"])
            elif twin == ("card", "vpcd"):
                _needs(rig, inst, "port")
                layout.vpcd_port = int(p["port"])
        if len(modbus) > 1:
            raise SimRigError(f"{rig.path}: the Modbus instruments name {sorted(modbus)}: the "
                              "simulated rig serves every Modbus twin on one host:port")
        if modbus:
            layout.modbus_host, layout.modbus_port = modbus.pop()
        ids = [d for d, _, _ in layout.evs] + ([layout.mains[0]] if layout.mains else [])
        if len(ids) != len(set(ids)):
            raise SimRigError(f"{rig.path}: Modbus device ids {ids} collide")
        for _, connector, _ in layout.evs:
            if not 1 <= connector <= rig.station.connectors:
                raise SimRigError(f"{rig.path}: an EV twin sits on connector {connector}; "
                                  f"the station has connectors 1..{rig.station.connectors}")
        return layout


def _needs(rig: Rig, inst: InstrumentConfig, *keys: str) -> None:
    """A twin is configured from these keys of the instrument's table."""
    missing = [k for k in keys if k not in inst.params]
    if missing:
        raise SimRigError(f"{rig.path}: [instruments.{inst.name}] (driver {inst.driver!r}, "
                          f"role {inst.role}) has no {', '.join(missing)}: the simulated rig "
                          "configures its twin from them")


def default_csms_url(rig: Rig) -> str:
    c = rig.csms
    scheme = "wss" if rig.station.security_profile >= 2 else "ws"  # as the CSMS serves it
    prefix = c.path_prefix.strip("/")
    return f"{scheme}://{c.host}:{c.port}" + (f"/{prefix}" if prefix else "")


class SimRig:
    """Everything `bench sim` serves, started and stopped as one."""

    def __init__(self, rig: Rig, csms_url: str | None = None, *, ephemeral: bool = False,
                 faults: list[str] | None = None, station_config: Path | None = None,
                 with_station: bool = True, with_pcscd: bool = True,
                 behaviours: list[str] | None = None) -> None:
        self.rig = rig
        self.layout = RigLayout.from_rig(rig)
        self.csms_url = csms_url or default_csms_url(rig)
        self.ephemeral = ephemeral
        sim_cfg = rig.simulator
        self.faults = sorted(set((sim_cfg.faults if sim_cfg else []) + list(faults or [])))
        self.behaviours = sorted(set((sim_cfg.behaviours if sim_cfg else [])
                                     + list(behaviours or [])))
        self.station_config = station_config or (sim_cfg.station_config if sim_cfg else None)
        self.noise_pct = sim_cfg.meter_noise_pct if sim_cfg else 0.0
        self.with_station = with_station
        self.with_pcscd = with_pcscd
        self.model = RigModel(connectors=rig.station.connectors)
        self.modbus: ModbusTwinServer | None = None
        self.meter: MeterTwin | None = None
        self.pcscd: PrivatePcscd | None = None
        self.station: Any = None
        self.ev_twins: dict[int, EvTwin] = {}
        self.mains: MainsTwin | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._station_task: asyncio.Task[None] | None = None
        self._power_task: asyncio.Task[None] | None = None
        self._card_source: Any = None

    # --- start / stop ---------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        lay = self.layout

        def port(fixed: int) -> int:
            return 0 if self.ephemeral else fixed

        devices: dict[int, ModbusDevice] = {}
        for device_id, connector, map_name in lay.evs:
            try:
                regmap = load_register_map(map_name)
            except RegisterMapError as exc:
                raise SimRigError(f"EV twin on device {device_id}: {exc}") from exc
            twin = EvTwin(self.model, connector, regmap)
            self.ev_twins[connector] = twin
            devices[device_id] = twin
        if lay.mains is not None:
            self.mains = MainsTwin(self.model, lay.mains[1], on_change=self._mains_changed)
            devices[lay.mains[0]] = self.mains
        self._tick_task = asyncio.create_task(self._tick(), name="model-tick")
        try:
            self.modbus = ModbusTwinServer(devices, lay.modbus_host, port(lay.modbus_port))
            await self.modbus.start()
            self.meter = MeterTwin(self.model, lay.meter_connector, self.noise_pct,
                                   host=lay.meter_host, port=port(lay.meter_port))
            await self.meter.start()
        except TwinServerError as exc:
            raise SimRigError(str(exc)) from exc
        if self.with_pcscd:
            self.pcscd = PrivatePcscd(port(lay.vpcd_port))
            try:
                await self.pcscd.start()
            except PcscdError as exc:
                raise SimRigError(f"RFID reader (private pcscd): {exc}") from exc
        if self.with_station:
            await self._start_station()

    async def stop(self) -> None:
        """Station first (it closes its socket), then twins, then pcscd. Never raises."""
        if self._power_task is not None and not self._power_task.done():
            with contextlib.suppress(Exception):
                await self._power_task  # a mains switch in progress finishes first
        if self.station is not None and self._station_task is not None:
            with contextlib.suppress(Exception):
                await within_deadline(self._stop_station(graceful=True), 5.0)
        if self._station_task is not None:
            self._station_task.cancel()
            with contextlib.suppress(BaseException):
                await self._station_task
            self._station_task = None
        if self._card_source is not None:
            with contextlib.suppress(Exception):
                self._card_source.close()
        if self.meter is not None:
            await self.meter.stop()
        if self.modbus is not None:
            await self.modbus.stop()
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(BaseException):
                await self._tick_task
            self._tick_task = None
        if self.pcscd is not None:
            await self.pcscd.stop()

    # --- endpoints ------------------------------------------------------------------------

    def endpoints(self) -> dict[str, Any]:
        assert self.modbus is not None and self.meter is not None
        return {
            "modbus": {"host": self.modbus.host, "port": self.modbus.port},
            "scpi": {"host": self.meter.host, "port": self.meter.port,
                     "resource": self.meter.resource},
            "vpcd": {"host": "127.0.0.1", "port": self.pcscd.vpcd_port if self.pcscd else None},
            "pcscd_socket": self.pcscd.socket_path if self.pcscd else None,
            "reader": self.pcscd.reader_name if self.pcscd else None,
            "station_id": self.rig.station.id,
            "csms_url": self.csms_url,
        }

    def describe(self) -> list[str]:
        """One line per served part, for the operator."""
        ep = self.endpoints()
        lines = [f"Modbus twins on {ep['modbus']['host']}:{ep['modbus']['port']}: "
                 + ", ".join(f"EV connector {c} = device {d}" for d, c, _ in self.layout.evs)
                 + (f", mains coil {self.layout.mains[1]} = device {self.layout.mains[0]}"
                    if self.layout.mains else ""),
                 f"meter twin (connector {self.layout.meter_connector}, noise "
                 f"{self.noise_pct:g} %) on {ep['scpi']['resource']}"]
        if self.pcscd:
            lines.append(f"RFID reader '{self.pcscd.reader_name}': vpcd port "
                         f"{self.pcscd.vpcd_port}, pcscd socket {self.pcscd.socket_path}")
        if self.with_station:
            lines.append(f"station {self.rig.station.id} -> {self.csms_url}/{self.rig.station.id}"
                         + (f" with faults {', '.join(self.faults)}" if self.faults else "")
                         + (f" with behaviours {', '.join(self.behaviours)}"
                            if self.behaviours else ""))
        return lines

    # --- internals ------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            self.model.tick()
            await asyncio.sleep(TICK_S)

    def _mains_changed(self, on: bool) -> None:
        """The mains coil was switched: the station loses power or boots again."""
        if not self.with_station or self.station is None:
            return
        previous = self._power_task

        async def switch() -> None:
            if previous is not None and not previous.done():
                with contextlib.suppress(BaseException):
                    await previous
            if on:
                self._run_station()
            else:
                await self._stop_station()

        self._power_task = asyncio.create_task(switch(), name=f"mains-{'on' if on else 'off'}")

    async def _start_station(self) -> None:
        if self.pcscd is not None:
            # libpcsclite reads this once, when pyscard first talks to pcscd
            os.environ["PCSCLITE_CSOCK_NAME"] = self.pcscd.socket_path
        try:
            self.station, self._card_source = build_station(
                self.rig, self.model, self.csms_url,
                self.pcscd.reader_name if self.pcscd else None,
                set(self.faults), self.station_config, set(self.behaviours))
        except ValueError as exc:
            raise SimRigError(f"station simulator: {exc}") from exc
        self._run_station()

    def _run_station(self) -> None:
        if self._station_task is not None and not self._station_task.done():
            return
        self._station_task = asyncio.create_task(self._station_main(), name="station")

    async def _station_main(self) -> None:
        try:
            await self.station.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("station simulator stopped with an error")

    async def _stop_station(self, graceful: bool = False) -> None:
        """Power off the station; `graceful` first closes its websocket with a close frame
        (the rig shutting down, not a mains cut)."""
        task = self._station_task
        link = getattr(self.station, "link", None)
        if graceful and link is not None:
            with contextlib.suppress(Exception):
                await within_deadline(link.close(), 2.0)
        with contextlib.suppress(Exception):
            await self.station.power_off()
        if task is not None:
            try:
                await within_deadline(asyncio.shield(task), 3.0)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


def build_station(rig: Rig, model: RigModel, csms_url: str, reader: str | None,
                  faults: set[str], station_config: Path | None,
                  behaviours: set[str] | None = None) -> tuple[Any, Any]:
    """The station simulator of the rig and its card source (imported late: pyscard must see
    PCSCLITE_CSOCK_NAME first)."""
    from sim.station import (
        ManualCardSource,
        PcscCardSource,
        PersistentStore,
        StationConfig,
        StationSimulator,
    )

    cfg = StationConfig.smartdc()
    if rig.station.connectors != cfg.connectors:
        cfg = cfg.with_overrides({"station": {"connectors": rig.station.connectors}},
                                 origin=f"{rig.path} [station] connectors")
    if station_config is not None:
        cfg = StationConfig.load(station_config, base=cfg)
    # the rig's cards as the station's UID -> idTag table (its own entries win)
    cfg = replace(cfg, security=station_security(rig),
                  id_tags={**card_id_tags(rig), **cfg.id_tags})
    cards = PcscCardSource(reader) if reader else ManualCardSource()
    url = f"{csms_url.rstrip('/')}/{rig.station.id}"
    # the store object lives as long as the rig: non-volatile memory across power cycles
    station = StationSimulator(cfg, model, cards, url, faults=faults, store=PersistentStore(None),
                               behaviours=behaviours or set())
    return station, cards


def card_id_tags(rig: Rig) -> dict[str, str]:
    """UID -> idTag of every card whose idTag is not its UID: what the operator configures
    in a real station (or its back end) for such cards."""
    return {c.uid: c.id_tag for c in rig.cards.values() if c.uid and c.id_tag != c.uid}


def station_security(rig: Rig) -> Any:
    """The station's side of [station] security_profile: its key ([simulator]
    authorization_key_hex if set, else [station]'s), the CA it trusts for the CSMS ([simulator]
    csms_ca, else [csms] tls_ca) and its client certificate ([simulator] client_cert/key)."""
    from sim.station.security import StationSecurity

    sim = rig.simulator
    profile = rig.station.security_profile
    return StationSecurity(
        profile=profile,
        authorization_key=(sim.authorization_key if sim and sim.authorization_key
                           else rig.station.authorization_key) if profile in (1, 2) else None,
        csms_ca=(sim.csms_ca if sim and sim.csms_ca else rig.csms.tls_ca),
        client_cert=sim.client_cert if sim and profile == 3 else None,
        client_key=sim.client_key if sim and profile == 3 else None,
    )

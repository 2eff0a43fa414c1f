"""Shared pieces of the station simulator tests: the bench's CSMS on loopback, the physical
model with a tick loop, a manual card reader, and the simulator, all real and in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.csms import CardInfo, Csms, CsmsSettings, Station
from bench.record import RunRecord
from sim.model import RigModel
from sim.station import ManualCardSource, PersistentStore, StationConfig, StationSimulator
from sim.station.security import StationSecurity

STATION_ID = "SMARTDC-TEST"
VALID = "04A1B2C3D4E5F6"
VALID2 = "04A1B2C3D4E5F7"  # another group
MEMBER = "04A1B2C3D4E5F8"  # same group as VALID
INVALID = "04DEADBEEF0001"
UNKNOWN = "04DEADBEEF0004"
CARDS = {
    VALID: CardInfo(VALID, "Accepted", "GROUP-A"),
    VALID2: CardInfo(VALID2, "Accepted", "GROUP-B"),
    MEMBER: CardInfo(MEMBER, "Accepted", "GROUP-A"),
    INVALID: CardInfo(INVALID, "Invalid"),
}
# quiet and fast: no meter values unless a test asks, short timeouts
FAST_KEYS: dict[str, Any] = {
    "MeterValueSampleInterval": 0,
    "ClockAlignedDataInterval": 0,
    "ConnectionTimeOut": 2,
    "TransactionMessageRetryInterval": 1,
}
FAST_STATION: dict[str, Any] = {
    "boot_retry_s": 1.0,
    "call_timeout_s": 2.0,
    "reconnect_min_s": 0.2,
    "reconnect_max_s": 1.0,
    "late_remote_start_s": 2.0,
    "reset_flush_s": 2.0,
}


@dataclass
class Rig:
    csms: Csms
    cs: Station  # the bench's session of the simulated station
    sim: StationSimulator
    model: RigModel
    cards: ManualCardSource
    store: PersistentStore
    run_task: asyncio.Task

    def plug(self, n: int = 1, current_a: float = 100.0) -> None:
        c = self.model.connector(n)
        c.target_voltage_v, c.requested_current_a, c.allow_power = 400.0, current_a, True
        if c.socket_outlet:  # a socket station: the cable's station end goes in first
            c.socket_plug = "seated"
        c.plugged, c.cp_request = True, "C"

    def unplug(self, n: int = 1) -> None:
        c = self.model.connector(n)
        c.cp_request, c.plugged = "A", False

    async def power_off(self) -> None:
        await self.sim.power_off()
        await asyncio.wait_for(self.run_task, 5)

    async def new_connection(self, previous_generation: int, within: float = 10) -> int:
        """Wait for a connection newer than `previous_generation`; its mono_ns stamp."""
        await wait_until(lambda: self.cs.connected and self.cs.generation > previous_generation,
                         within, "a new connection of the station")
        assert self.cs.connected_mono_ns is not None
        return self.cs.connected_mono_ns

    def power_on(self) -> None:
        self.run_task = asyncio.create_task(self.sim.run())

    async def charging(self, n: int = 1, tag: str = VALID) -> int:
        """Plug in, present `tag`: returns the transaction id once Charging."""
        self.plug(n)
        await self.cs.expect("StatusNotification", {"connectorId": n, "status": "Preparing"}, 5)
        self.cards.tap(tag)
        start = await self.cs.expect("StartTransaction", {"connectorId": n}, 5)
        await self.cs.expect("StatusNotification", {"connectorId": n, "status": "Charging"}, 5)
        await wait_until(lambda: self.sim.connectors[n].tx is not None
                         and self.sim.connectors[n].tx.id is not None, 5, "transaction id")
        tx = self.sim.connectors[n].tx
        assert tx is not None and tx.id_tag == start.payload["idTag"]
        return tx.id


async def wait_until(predicate, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"waited {within} s for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def station_rig(tmp_path: Path, keys: dict[str, Any] | None = None,
                      station: dict[str, Any] | None = None, faults: set[str] | None = None,
                      heartbeat_s: int = 60, boot: bool = True,
                      store: PersistentStore | None = None,
                      overrides: dict[str, Any] | None = None,
                      allowed_findings: frozenset[str] = frozenset(),
                      basic_auth_key: bytes | None = None,
                      client_tls: dict[str, Path] | None = None) -> AsyncIterator[Rig]:
    """A booted station on the bench's CSMS. On exit, any finding of the CSMS about the
    station (a schema-invalid frame, a broken answer...) fails the test unless allowed.
    basic_auth_key: both sides at security profile 1 with that AuthorizationKey; client_tls
    (tests/pki_support.make_pki with leaves "csms" and "station"): both at profile 3."""
    record = RunRecord.create(tmp_path / "runs", "station-test")
    settings = CsmsSettings(port=0, any_station=True, cards=dict(CARDS),
                            heartbeat_interval_s=heartbeat_s, response_timeout_s=5.0,
                            ping_interval_s=None)
    if basic_auth_key is not None:
        settings.security_profile, settings.stations = 1, {STATION_ID: basic_auth_key}
    if client_tls is not None:
        settings.security_profile, settings.tls_ca = 3, client_tls["ca"]
        settings.tls_cert, settings.tls_key = client_tls["csms"], client_tls["csms_key"]
    csms = Csms(settings, record)
    await csms.start()
    model = RigModel(connectors=2)

    async def tick() -> None:
        while True:
            model.tick()
            await asyncio.sleep(0.05)

    ticker = asyncio.create_task(tick())
    cfg = StationConfig.smartdc().with_overrides(
        {"station": {**FAST_STATION, **(station or {})}, "keys": {**FAST_KEYS, **(keys or {})}})
    if basic_auth_key is not None:
        cfg.security = StationSecurity(1, basic_auth_key)
    if client_tls is not None:
        cfg.security = StationSecurity(3, None, client_tls["ca"], client_tls["station"],
                                       client_tls["station_key"])
    cards = ManualCardSource()
    store = store if store is not None else PersistentStore(None)
    sim = StationSimulator(cfg, model, cards, f"{csms.url}/{STATION_ID}", faults or set(), store)
    session = csms.station(STATION_ID)
    for action, fn in (overrides or {}).items():
        session.responders.override(action, fn)
    run_task = asyncio.create_task(sim.run())
    rig = Rig(csms, session, sim, model, cards, store, run_task)
    try:
        if boot:
            await csms.wait_for_station(STATION_ID, timeout=10)
        yield rig
        findings = [f for f in session.findings if f["code"] not in allowed_findings]
        assert not findings, f"the CSMS found non-conformances: {findings}"
    finally:
        await sim.power_off()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(rig.run_task, 5)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        await csms.stop()
        record.close("complete")


async def test_support_boots_a_station(tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        boot = await rig.cs.expect("BootNotification", within=5)
        assert boot.payload["chargePointModel"] == "SmartDC"
        await wait_until(lambda: rig.sim.status()["boot"] == "Accepted", 5, "boot accepted")
        for n in (0, 1, 2):
            sn = await rig.cs.expect("StatusNotification", {"connectorId": n}, 5)
            assert sn.payload["status"] == "Available"

"""The simulated charge point: connection, boot, heartbeat, connectors and transactions."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from sim.station import outlet, transport_faults
from sim.station.behaviours import check_behaviour_names
from sim.station.cards import CardSource
from sim.station.config import StationConfig
from sim.station.connector import ConnectorState, PendingStart, Transaction, derive_status
from sim.station.faults import check_fault_names
from sim.station.firmware import Firmware
from sim.station.handlers import CsmsCalls
from sim.station.keys import KeySpec
from sim.station.link import CallTimeout, Link, LinkDown, PeerError
from sim.station.localauth import LocalAuthList, still_valid
from sim.station.meter import iso_utc, measurand_list, meter_value, whole_second_timestamps
from sim.station.reservation import Reservations
from sim.station.security import websocket_logger
from sim.station.smartcharging import SmartCharging
from sim.station.store import PersistentStore
from sim.station.trigger import Trigger
from sim.station.txqueue import RetryPolicy, TxMessage, TxQueue
from sim.station.whitepaper import Whitepaper

log = logging.getLogger(__name__)

StatusListener = Callable[[int, str, str], None]  # (connector, status, errorCode)


class StationSimulator:
    """An OCPP 1.6-J charge point wired to the rig's physical model.

    `time_scale` multiplies every duration the station waits (1.0 = real time); the
    wall-clock alignment of Sample.Clock values is not scaled.
    """

    card_poll_s = 0.2
    physics_poll_s = 0.1

    def __init__(self, cfg: StationConfig, model: Any, card_source: CardSource | None,
                 csms_url: str, faults: set[str] | frozenset[str] = frozenset(),
                 store: PersistentStore | None = None, time_scale: float = 1.0,
                 behaviours: set[str] | frozenset[str] = frozenset()) -> None:
        self.cfg, self.model, self.card_source, self.url = cfg, model, card_source, csms_url
        self.faults = check_fault_names(set(faults))
        self.behaviours = check_behaviour_names(set(behaviours))
        # the security profile: checked and its TLS context built now, so a bad file or a
        # ws:// URL for a TLS profile fails at start, not on every reconnect
        cfg.security.check_url(csms_url)
        self._auth_headers = cfg.security.headers(csms_url)
        self._ssl = cfg.security.ssl_context(csms_url)
        model_connectors = len(getattr(model, "connectors", [])) or cfg.connectors
        if model_connectors != cfg.connectors:
            raise ValueError(f"station config has {cfg.connectors} connectors, the rig model "
                             f"{model_connectors}")
        if hasattr(model, "set_socket_outlets"):  # a socket: the CP runs through the cable
            model.set_socket_outlets(not cfg.fixed_cable)
        self.store = store if store is not None else PersistentStore(None)
        self.time_scale = time_scale
        self.firmware = Firmware(self)  # FirmwareManagement (firmware.py)
        self.trigger = Trigger(self)  # RemoteTrigger (trigger.py)
        self.smart = SmartCharging(self)
        self.whitepaper = Whitepaper(self) if cfg.security_whitepaper else None
        self.local_list, self.reservations = LocalAuthList(self), Reservations(self)
        self.calls = CsmsCalls(self)
        self._listeners: list[StatusListener] = []
        # unique across power cycles and processes sharing a store file
        self._local_ids = itertools.count(time.time_ns() // 1000)
        self._reset_volatile()

    # --- public ------------------------------------------------------------------------

    def fault(self, name: str) -> bool:
        return name in self.faults

    def behaves(self, name: str) -> bool:
        """A conformant-but-unusual behaviour profile is on (behaviours.py)."""
        return name in self.behaviours

    def clock(self) -> datetime:
        """The station's own clock (fault clock_ahead: it runs clock_skew_s ahead)."""
        now = datetime.now(UTC)
        return now + timedelta(seconds=self.cfg.clock_skew_s) if self.fault("clock_ahead") \
            else now

    def register_wh(self, phys: Any) -> float:
        """The station's energy register (fault energy_register_high: it counts high)."""
        return float(phys.energy_wh) * self._energy_gain()

    def _energy_gain(self) -> float:
        return self.cfg.energy_register_gain if self.fault("energy_register_high") else 1.0

    def add_status_listener(self, callback: StatusListener) -> None:
        """`callback(connector, status, errorCode)` after each StatusNotification is sent."""
        self._listeners.append(callback)

    def status(self) -> dict[str, Any]:
        """A snapshot for logs: connection, boot, per-connector status and transaction."""
        return {
            "connected": self.link is not None and not self.link.closed.is_set(),
            "boot": self.boot_status,
            "queued_tx_messages": len(self.txq),
            "connectors": {
                c.number: {"status": self._derived(c)[0],
                           "transaction_id": c.tx.id if c.tx else None,
                           "id_tag": c.tx.id_tag if c.tx else None}
                for c in self.connectors.values()
            },
        }

    async def run(self) -> None:
        """Powered: connect, boot, serve; reconnect on loss; return after power_off()."""
        self._reset_volatile()
        self._off = asyncio.Event()
        self._restore_from_store()
        tasks = [asyncio.create_task(coro) for coro in (
            self._connection_loop(), self._physics_loop(), self._clock_aligned_loop())]
        off = asyncio.create_task(self._off.wait())
        try:
            done, _ = await asyncio.wait({off, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not off and task.exception():
                    raise task.exception()
        finally:
            for task in [off, *tasks, *self._bg]:
                task.cancel()
            await asyncio.gather(off, *tasks, *self._bg, return_exceptions=True)
            if self.link is not None:
                self.link.abort()
                self.link = None
            self._outputs_off()

    async def power_off(self) -> None:
        """Mains cut: with backup power stop transactions (PowerLoss) first; then drop the
        socket without a close handshake and lose all volatile state."""
        if self.cfg.backup_power:
            for c in self.connectors.values():
                if c.tx is not None:
                    self.stop_transaction(c, "PowerLoss")
            if self.online:  # offline, the StopTransaction waits in the journal
                await self.txq.drained(self._s(self.cfg.reset_flush_s))
                await self._statuses_sent(self._s(self.cfg.reset_flush_s))
        self._save_journal()
        if self.link is not None:
            self.link.abort()
        if getattr(self, "_off", None) is not None:
            self._off.set()

    async def _statuses_sent(self, within: float) -> None:
        """Let the physics loop see the last changes, then wait for their StatusNotifications."""
        await asyncio.sleep(2 * self.physics_poll_s)
        notices = self._notices
        if notices is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await notices.join()

    # --- state -------------------------------------------------------------------------

    def _reset_volatile(self) -> None:
        self.keys: dict[str, KeySpec] = dict(self.cfg.keys)
        if self.behaves("no_minimum_status_duration"):
            self.keys.pop("MinimumStatusDuration", None)
        self._key_changed = asyncio.Event()
        self.firmware.reset_volatile()
        self.connectors = {n: ConnectorState(n) for n in range(1, self.cfg.connectors + 1)}
        self.station_operative = True
        self.station_status_sent: str | None = None
        self.station_status_confirmed: str | None = None
        self.link: Link | None = None
        self.boot_status: str | None = None
        self.boot_accepted = False
        self.reboot_requested = False
        self._status_candidates: dict[int, tuple[str, str, float]] = {}
        self._notices: asyncio.Queue | None = None
        self._bg: set[asyncio.Task] = set()
        self._last_card: str | None = None
        self._heartbeat_from: float | None = None  # heartbeat_skips_and_queues: the cadence
        self._offline_until: float | None = None  # rejected_goes_offline: reconnect from then
        self.txq = TxQueue(
            RetryPolicy(lambda: self.key_int("TransactionMessageAttempts"),
                        lambda: self.key_int("TransactionMessageRetryInterval"),
                        retry=not self.fault("no_transaction_retry")),
            self._on_tx_result, self.sleep,
            newest_first_after_reconnect=self.fault("queued_out_of_order"),
            resend_last_meter_values=self.behaves("resends_meter_values_on_reconnect"))

    def _restore_from_store(self) -> None:
        for name, value in self.store.get("config", {}).items():
            if name in self.keys:
                self.keys[name] = self.keys[name].with_value(value)
        avail = self.store.get("availability", {})
        self.station_operative = avail.get("0", True)
        for c in self.connectors.values():
            c.operative = avail.get(str(c.number), True)
        # unsent transaction messages (flash journal), then transactions open when the power
        # went: those end now with PowerLoss (the meter register survived)
        txs: dict[int, Transaction] = {}
        journal = self.store.get("tx_journal", [])
        for item in journal:
            tx = self._transaction_from_store(item["tx"], txs) if item["tx"] else None
            self.txq.put(TxMessage(item["action"], item["payload"], tx))
        journaled_starts = {i["tx"]["local_id"] for i in journal
                            if i["action"] == "StartTransaction" and i["tx"]}
        # why the open transactions ended: the power went, unless a hard reset left them
        # (behaviour hard_reset_stops_after_reboot)
        reason = self.store.get("stop_reason_at_boot") or "PowerLoss"
        resume = reason == "PowerLoss" and self.behaves("resumes_after_power_loss")
        for data in self.store.get("open_transactions", []):
            c = self.connectors.get(data["connector"])
            if c is None:
                continue
            tx = self._transaction_from_store(data, txs)
            if tx.id is None and tx.local_id not in journaled_starts:
                self.txq.put(TxMessage("StartTransaction", self._start_payload(tx), tx))
            c.tx = tx
            if resume:  # the transaction goes on where it was (its samples too)
                self.spawn(self._sampled_loop(c, tx))
            else:
                self.stop_transaction(c, reason)
        self.store.put("stop_reason_at_boot", None)
        self._persist_open_transactions()
        self.store.put("tx_journal", [])
        if self.whitepaper is not None:
            self.whitepaper.restore()

    def _transaction_from_store(self, data: dict[str, Any],
                                known: dict[int, Transaction]) -> Transaction:
        tx = known.get(data["local_id"])
        if tx is None:
            tx = known[data["local_id"]] = Transaction(
                data["local_id"], data["connector"], data["id_tag"], data["meter_start"],
                data["started_iso"], self._now(), data.get("parent_id_tag"), data.get("id"),
                reservation_id=data.get("reservation_id"))
        return tx

    def _save_journal(self) -> None:
        """Unsent transaction messages to non-volatile memory (at power loss)."""
        self.store.put("tx_journal", [
            {"action": m.action, "payload": m.payload,
             "tx": m.tx.as_store() if m.tx is not None else None} for m in self.txq.items])

    def _persist_open_transactions(self) -> None:
        self.store.put("open_transactions", [c.tx.as_store() for c in self.connectors.values()
                                             if c.tx is not None and not c.tx.stopping])

    # --- keys --------------------------------------------------------------------------

    def key(self, name: str, default: str = "") -> str:
        spec = self.keys.get(name)
        return spec.value if spec is not None else default

    def key_int(self, name: str, default: int = 0) -> int:
        try:
            return int(self.key(name, str(default)))
        except ValueError:
            return default

    def key_bool(self, name: str) -> bool:
        return self.key(name, "false").strip().lower() == "true"

    def set_key(self, name: str, value: str, persist: bool = True) -> None:
        self.keys[name] = self.keys[name].with_value(value)
        self._key_changed.set()
        if persist:
            stored = self.store.get("config", {})
            stored[name] = value
            self.store.put("config", stored)

    @property
    def cache_enabled(self) -> bool:
        return self.cfg.authorization_cache and self.key_bool("AuthorizationCacheEnabled")

    # --- time --------------------------------------------------------------------------

    def _s(self, seconds: float) -> float:
        return seconds * self.time_scale

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self._s(seconds)))

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)
        return task

    @property
    def online(self) -> bool:
        return self.link is not None and self.boot_accepted and not self.link.closed.is_set()

    # --- connection --------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        backoff = self.cfg.reconnect_min_s
        after_loss = False  # the next attempt is the first since a connection ended
        while True:
            if self._offline_until is not None:  # behaviour rejected_goes_offline
                await asyncio.sleep(max(0.0, self._offline_until - self._now()))
                self._offline_until = None
            offer, after_loss = transport_faults.attempt(self, after_loss), False
            try:
                ws = await connect(self.url, subprotocols=offer.subprotocols, proxy=None,
                                   open_timeout=self._s(10), ping_interval=None,
                                   close_timeout=2, additional_headers=offer.headers,
                                   ssl=offer.tls, logger=websocket_logger())
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError, EOFError,
                    ConnectionClosed) as exc:
                # a refusal (HTTP 401/403) or a TLS failure is a set-up mistake: show it
                refused = isinstance(exc, InvalidStatus | ssl.SSLError)
                log.log(logging.WARNING if refused else logging.INFO,
                        "station: CSMS %s %s (%s); retry in %.1f s", self.url,
                        "refused the connection" if refused else "not reachable", exc, backoff)
                if self.whitepaper is not None:
                    self.whitepaper.connect_failed()
                await self.sleep(backoff)
                backoff = min(backoff * 2, self.cfg.reconnect_max_s)
                continue
            backoff = self.cfg.reconnect_min_s
            if ws.subprotocol != "ocpp1.6":
                log.warning("station: CSMS %s did not agree to ocpp1.6 (got %r)",
                            self.url, ws.subprotocol)
            link = Link(ws, self.url, self.calls.handle, self._s(self.cfg.call_timeout_s),
                        rewrite=(whole_second_timestamps
                                 if self.fault("timestamps_without_milliseconds") else None))
            self.link = link
            reader = asyncio.create_task(link.serve())
            session = asyncio.create_task(self._online_session(link))
            keepalive = asyncio.create_task(link.keepalive(
                lambda: self._s(self.key_int("WebSocketPingInterval")),
                self._s(self.cfg.ping_timeout_s)))
            try:
                await asyncio.wait({reader, session}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                session.cancel()
                keepalive.cancel()
                await asyncio.gather(session, keepalive, return_exceptions=True)
                if not reader.done():
                    await link.close()
                    reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                self.link = None
                self.txq.went_offline()
                after_loss = True
            if session.done() and not session.cancelled() and session.exception():
                exc = session.exception()
                if not isinstance(exc, LinkDown):
                    raise exc
            if self.reboot_requested:
                await self._reboot()
            else:
                await self.sleep(self.cfg.reconnect_min_s)

    async def _reboot(self) -> None:
        """After a Reset: volatile state lost, non-volatile kept, boot again."""
        self._reset_volatile_for_reboot()
        await self.sleep(0.5)

    def _reset_volatile_for_reboot(self) -> None:
        for task in list(self._bg):
            if task is not asyncio.current_task():
                task.cancel()
        unsent = list(self.txq.items)  # transaction messages are kept in flash over a reset
        self._reset_volatile()
        for msg in unsent:
            self.txq.put(msg)
        self._outputs_off()
        self._restore_from_store()

    async def _online_session(self, link: Link) -> None:
        if not self.boot_accepted:
            await self._boot(link)
            self.boot_accepted = True
            await self._boot_statuses(link)
            self.spawn(self.firmware.after_boot())  # Installed after a firmware reboot
            if self.whitepaper is not None:
                await self.whitepaper.after_boot(link)
        self._notices = asyncio.Queue()
        # statuses that changed while offline get sent again by the physics loop
        for c in self.connectors.values():
            c.status_sent = c.status_confirmed
        self.station_status_sent = self.station_status_confirmed
        self.txq.went_online()
        senders = [asyncio.create_task(self.txq.run(link)),
                   asyncio.create_task(self._notice_sender(link)),
                   asyncio.create_task(self._heartbeat_loop(link))]
        if self.whitepaper is not None:
            senders.append(asyncio.create_task(self.whitepaper.deliver_events(link)))
        try:
            await asyncio.gather(*senders)
        finally:
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            self._notices = None

    def boot_payload(self) -> dict[str, Any]:
        """BootNotification.req: the firmwareVersion is the last one installed."""
        return {"chargePointVendor": self.cfg.vendor, "chargePointModel": self.cfg.model,
                "chargePointSerialNumber": self.cfg.serial_number,
                "firmwareVersion": self.firmware.version}

    async def _boot(self, link: Link) -> None:
        while True:
            payload = self.boot_payload()
            if self.fault("invalid_boot_notification"):
                payload["chargePointVendor"] = "Flo / AddEnergie Technologies Inc."
            try:
                answer = await link.call("BootNotification", payload)
            except (PeerError, CallTimeout) as exc:
                log.info("station: BootNotification failed (%s); retry", exc)
                await self.sleep(self.cfg.boot_retry_s)
                continue
            self.boot_status = answer.get("status")
            interval = int(answer.get("interval", 0) or 0)
            if self.boot_status == "Accepted":
                if interval > 0:
                    self.set_key("HeartbeatInterval", str(interval), persist=False)
                return
            wait = interval if interval > 0 else self.cfg.boot_retry_s
            if self.boot_status == "Rejected" and self.behaves("rejected_goes_offline"):
                # unreachable until the retry interval is over: the connection loop waits
                self._offline_until = self._now() + self._s(wait)
                await link.close()
                raise LinkDown("BootNotification Rejected: offline until the retry interval")
            await self.sleep(wait)

    async def _boot_statuses(self, link: Link) -> None:
        """StatusNotification for connector 0 and every connector, right after boot."""
        if not self.fault("no_connector0_status"):
            status = self._station_status()
            await self._send_status(link, 0, status, "NoError")
            self.station_status_confirmed = status
        for c in self.connectors.values():
            status, error = self._derived(c)
            await self._send_status(link, c.number, status, error)
            c.status_confirmed = status
        for c in self.connectors.values():
            c.status_sent = c.status_confirmed

    async def _send_status(self, link: Link, n: int, status: str, error: str) -> None:
        await link.call("StatusNotification", {"connectorId": n, "errorCode": error,
                                               "status": status,
                                               "timestamp": iso_utc(self.clock())})
        log.info("station: connector %d %s (%s)", n, status, error)
        for callback in self._listeners:
            callback(n, status, error)

    async def _notice_sender(self, link: Link) -> None:
        assert self._notices is not None
        while True:
            n, status, error = await self._notices.get()
            try:
                await self._send_status(link, n, status, error)
            except (PeerError, CallTimeout) as exc:
                log.warning("station: StatusNotification %d %s failed: %s", n, status, exc)
            if n == 0:
                self.station_status_confirmed = status
            else:
                self.connectors[n].status_confirmed = status
            self._notices.task_done()

    async def _heartbeat_loop(self, link: Link) -> None:
        if self.behaves("heartbeat_skips_and_queues"):
            await self._heartbeat_cadence(link)
            return
        while True:
            interval = self.key_int("HeartbeatInterval")
            if self.fault("heartbeat_wrong_interval"):
                interval *= 1.5
            if interval <= 0:
                await asyncio.sleep(1)
                continue
            idle = self._now() - link.last_activity
            wait = self._s(interval) - idle
            if wait > 0:
                await asyncio.sleep(min(wait, 1.0))  # short naps: a new interval applies soon
                continue
            await self._send_heartbeat(link)

    async def _heartbeat_cadence(self, link: Link) -> None:
        """Behaviour heartbeat_skips_and_queues: one Heartbeat cadence for the powered station,
        across connections, counted from `_heartbeat_from` with the current interval. Any other
        PDU sent moves it on (the Heartbeat it replaces is skipped); a Heartbeat that fell due
        while offline is sent first thing on reconnect without moving the cadence."""
        exempt: float | None = None  # last_sent of the queued Heartbeat: it moves nothing
        interval = self._s(max(1, self.key_int("HeartbeatInterval")))
        if self._heartbeat_from is not None and self._heartbeat_from + interval <= self._now():
            await self._send_heartbeat(link)
            exempt = link.last_sent
            while self._heartbeat_from + interval <= self._now():
                self._heartbeat_from += interval
        while True:
            interval_s = self.key_int("HeartbeatInterval")
            if interval_s <= 0:
                await asyncio.sleep(1)
                continue
            sent = link.last_sent
            if sent is not None and sent != exempt:
                self._heartbeat_from = max(self._heartbeat_from or sent, sent)
            elif self._heartbeat_from is None:
                self._heartbeat_from = self._now()
            wait = self._heartbeat_from + self._s(interval_s) - self._now()
            if wait > 0:
                await asyncio.sleep(min(wait, 1.0))  # short naps: a new interval applies soon
                continue
            await self._send_heartbeat(link)

    async def _send_heartbeat(self, link: Link) -> None:
        try:
            await link.call("Heartbeat", {})
        except (PeerError, CallTimeout) as exc:
            log.warning("station: Heartbeat failed: %s", exc)
            link.touch()

    # --- physics and status ------------------------------------------------------------

    def _derived(self, c: ConnectorState) -> tuple[str, str]:
        pilot = "GroundFailure" if self.behaves("pilot_fault_ground_failure") else "OtherError"
        phys = self.model.connector(c.number)
        return derive_status(c, phys, bool(getattr(self.model, "mains_on", True)), pilot,
                             self._occupied(phys))

    def _occupied(self, phys: Any) -> bool:
        return outlet.occupied(phys, self.cfg.fixed_cable, not self.fault("socket_cable_unseen"))

    def _station_status(self) -> str:
        return "Available" if self.station_operative else "Unavailable"

    async def _physics_loop(self) -> None:
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_change(_change: object = None) -> None:
            loop.call_soon_threadsafe(wake.set)

        self.model.add_listener(on_change)
        next_card = 0.0
        try:
            while True:
                if self.card_source is not None and self._now() >= next_card:
                    next_card = self._now() + self.card_poll_s
                    await self._poll_card()
                self.reservations.step()
                for c in self.connectors.values():
                    self._step_connector(c)
                self._step_station_status()
                wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.physics_poll_s):
                        await wake.wait()
        finally:
            remove = getattr(self.model, "remove_listener", None)
            if remove is not None:
                remove(on_change)

    async def _poll_card(self) -> None:
        assert self.card_source is not None
        try:
            uid = await self.card_source.poll()
        except Exception as exc:  # a reader error must not stop the station
            log.warning("station: card reader poll failed: %s", exc)
            uid = None
        if uid and uid != self._last_card and self.boot_status is not None:
            self.spawn(self.identify(self.cfg.id_tag_for(uid)))
        self._last_card = uid

    def _step_connector(self, c: ConnectorState) -> None:
        phys = self.model.connector(c.number)
        plugged = outlet.ev_present(phys, self.cfg.fixed_cable)
        if plugged != c.was_plugged:
            c.was_plugged = plugged
            if not plugged:
                self._on_unplug(c)
        if c.finishing and not self._occupied(phys):
            c.finishing = False  # the cable is gone (a socket: from the socket, OCPP Finishing)
        if c.pending is not None and not (c.operative and self.station_operative):
            c.pending = None  # made Unavailable before the plug came
        if c.pending is not None:
            if plugged and c.tx is None and outlet.may_start(
                    phys, self.cfg.fixed_cable, self.fault("lock_failure_unreported")):
                self._start_transaction(c)
            elif (not plugged and not self.fault("connection_timeout_ignored")
                  and self._now() - c.pending.since_mono
                  >= self._s(self.key_int("ConnectionTimeOut"))):
                log.info("station: connector %d: no plug within ConnectionTimeOut", c.number)
                c.pending = None
        if c.tx is None and c.scheduled_operative is not None:
            c.operative, c.scheduled_operative = c.scheduled_operative, None
        self._drive_outputs(c, phys)
        self._step_status(c)

    def _on_unplug(self, c: ConnectorState) -> None:
        if c.tx is None:
            return
        if not self.cfg.fixed_cable and not self.key_bool("UnlockConnectorOnEVSideDisconnect"):
            c.hold_lock = True
        stop = self.key_bool("StopTransactionOnEVSideDisconnect")
        if stop or self.fault("ev_disconnect_always_stops"):
            self.stop_transaction(c, "EVDisconnected")

    def _drive_outputs(self, c: ConnectorState, phys: Any) -> None:
        live = c.tx is not None and not c.tx.deauthorized and not c.tx.stopping
        want_contactor = live and phys.plugged and str(phys.cp_state)[:1] in "CD"
        want_current = (self.smart.offered_a(c, phys, self.cfg.max_current_a) if live
                        else 0.0)
        if (not live and phys.plugged and phys.contactor_closed
                and self.fault("contactor_stays_closed")):
            want_contactor, want_current = True, phys.offered_current_a  # power not cut
        want_pwm = 5.0 if phys.plugged else 100.0  # DC: high-level communication
        if self.model.mains_on:
            if phys.offered_current_a != want_current:
                phys.offered_current_a = want_current
            if phys.pwm_duty_pct != want_pwm:
                phys.pwm_duty_pct = want_pwm
            if phys.contactor_closed != want_contactor:
                phys.contactor_closed = want_contactor
        if not self.cfg.fixed_cable:
            outlet.drive_lock(
                c, phys, self._occupied(phys), self._now(), release_fails=self.cfg.lock_fails,
                ignore_feedback=self.fault("lock_failure_unreported"),
                release_delay_s=self._s(self.cfg.lock_release_delay_s)
                if self.behaves("lock_opens_late") else 0.0)

    def _outputs_off(self) -> None:
        for n in range(1, self.cfg.connectors + 1):
            phys = self.model.connector(n)
            if phys.contactor_closed:
                phys.contactor_closed = False
            if phys.offered_current_a:
                phys.offered_current_a = 0.0

    def _step_status(self, c: ConnectorState) -> None:
        status, error = self._derived(c)
        if (status, error) == (c.status_sent, c.error_sent) or not self.online:
            self._status_candidates.pop(c.number, None)
            return
        if self._notices is None:
            return
        candidate = self._status_candidates.get(c.number)
        if candidate is None or candidate[:2] != (status, error):
            candidate = (status, error, self._now())
            self._status_candidates[c.number] = candidate
        if self._now() - candidate[2] < self._s(self.key_int("MinimumStatusDuration")):
            return
        self._status_candidates.pop(c.number, None)
        c.status_sent, c.error_sent = status, error
        self._notices.put_nowait((c.number, status, error))

    def _step_station_status(self) -> None:
        status = self._station_status()
        if status == self.station_status_sent or not self.online or self._notices is None:
            return
        if self.fault("no_connector0_status"):
            return
        self.station_status_sent = status
        self._notices.put_nowait((0, status, "NoError"))

    # --- authorization -----------------------------------------------------------------

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """idTagInfo for `id_tag`: from the CSMS when online, else from local rules."""
        listed = self.local_list.lookup(id_tag)
        if listed is not None and self.key_bool(
                "LocalPreAuthorize" if self.online else "LocalAuthorizeOffline"):
            if self.local_list.authorizes(id_tag) or not self.online:
                return listed  # the list takes precedence over the cache (OCPP 1.6 §3.5)
        cache = self.store.get("auth_cache", {}) if self.cache_enabled else {}
        cached = cache.get(id_tag)

        def usable() -> bool:  # judged when used: an expiry may pass during a failed Authorize
            return bool(cached) and still_valid(cached, datetime.now(UTC))

        if self.online:
            if self.key_bool("LocalPreAuthorize") and usable():
                return cached
            try:
                assert self.link is not None
                answer = await self.link.call("Authorize", {"idTag": id_tag})
                info = answer.get("idTagInfo", {"status": "Invalid"})
                if self.cache_enabled:
                    cache[id_tag] = info
                    self.store.put("auth_cache", cache)
                return info
            except (LinkDown, CallTimeout, PeerError) as exc:
                log.info("station: Authorize %s failed (%s): offline rules", id_tag, exc)
        if self.key_bool("LocalAuthorizeOffline") and usable():
            return cached
        if self.key_bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return {"status": "Invalid"}

    def clear_cache(self) -> None:
        self.store.put("auth_cache", {})

    async def identify(self, id_tag: str) -> None:
        """A card was presented: stop a matching transaction or prepare a start."""
        for c in self.connectors.values():
            if c.tx is not None and not c.tx.stopping and c.tx.id_tag == id_tag:
                self.stop_transaction(c, "Local", id_tag=id_tag)
                return
        for c in self.connectors.values():
            if c.pending is not None and c.pending.id_tag == id_tag:
                c.pending = None  # presented again before plugging in: cancel
                return
        if self.reservations.refuses_unasked(id_tag):
            log.info("station: card %s: every free connector is reserved for another", id_tag)
            return
        if (self.behaves("reserved_tag_not_authorized")
                and self.reservations.claim(id_tag, None) is not None):
            info: dict[str, Any] = {"status": "Accepted"}  # the CSMS reserved it for this idTag
        else:
            info = await self.authorize(id_tag)
        if info.get("status") != "Accepted":
            log.info("station: card %s not accepted (%s)", id_tag, info.get("status"))
            return
        parent = info.get("parentIdTag")
        for c in self.connectors.values():
            if c.tx is None or c.tx.stopping:
                continue
            if self.fault("stop_on_other_tag") or (parent and c.tx.parent_id_tag == parent):
                self.stop_transaction(c, "Local", id_tag=id_tag)
                return
        claim = self.reservations.claim(id_tag, parent)
        target = claim.connector if claim else (self.free_connector()
                                                or self.reservations.any_reserved())
        if target is None:
            log.info("station: card %s accepted but no connector is free", id_tag)
            return
        target.pending = PendingStart(id_tag, parent, self._now(),
                                      reservation_id=claim.reservation_id if claim else None)

    def free_connector(self) -> ConnectorState | None:
        """A connector that can take a new session: one with an EV plugged first."""
        free = [c for c in self.connectors.values() if self.is_free(c)]
        plugged = [c for c in free if self._occupied(self.model.connector(c.number))]
        return (plugged or free or [None])[0]

    def is_free(self, c: ConnectorState) -> bool:
        status = self._derived(c)[0]
        return (c.tx is None and c.pending is None and c.operative and self.station_operative
                and status in ("Available", "Preparing") and not c.reserved)

    # --- transactions ------------------------------------------------------------------

    def _start_payload(self, tx: Transaction) -> dict[str, Any]:
        payload = {"connectorId": tx.connector, "idTag": tx.id_tag,
                   "meterStart": tx.meter_start, "timestamp": tx.started_iso}
        if tx.reservation_id is not None and not self.fault("start_without_reservation_id"):
            payload["reservationId"] = tx.reservation_id
        return payload

    def _start_transaction(self, c: ConnectorState) -> None:
        assert c.pending is not None
        phys = self.model.connector(c.number)
        tx = Transaction(next(self._local_ids), c.number, c.pending.id_tag,
                         round(self.register_wh(phys)), iso_utc(self.clock()), self._now(),
                         c.pending.parent_id_tag, reservation_id=c.pending.reservation_id)
        profile = c.pending.charging_profile
        if tx.reservation_id is not None:
            self.reservations.drop(tx.reservation_id)  # used: it ends (OCPP 1.6 §5.13)
        c.tx, c.pending, c.finishing = tx, None, False
        self.smart.transaction_started(c, profile)
        self._persist_open_transactions()
        self._queue_after_status(c, TxMessage("StartTransaction", self._start_payload(tx), tx))
        self.spawn(self._sampled_loop(c, tx))
        log.info("station: connector %d: transaction started for %s", c.number, tx.id_tag)

    def stop_transaction(self, c: ConnectorState, reason: str, id_tag: str | None = None) -> None:
        tx = c.tx
        if tx is None or tx.stopping:
            return
        tx.stopping = True
        c.tx = None
        phys = self.model.connector(c.number)
        c.finishing = self._occupied(phys)
        self._drive_outputs(c, phys)
        payload: dict[str, Any] = {"meterStop": round(self.register_wh(phys)),
                                   "timestamp": iso_utc(self.clock()), "reason": reason}
        if self.fault("wrong_stop_reason"):
            payload["reason"] = "Local"
        if self.fault("no_soft_reset_reason") and reason == "SoftReset":
            del payload["reason"]
        if payload.get("reason") == "Local" and self.behaves("stop_reason_local_omitted"):
            del payload["reason"]  # a normal end: Local is assumed (OCPP 1.6 §4.10)
        if id_tag is not None:
            payload["idTag"] = id_tag
        end = meter_value(phys, measurand_list(self.key("StopTxnSampledData")),
                          "Transaction.End", self.clock(), self._energy_gain())
        data = [*tx.stop_data, end] if end["sampledValue"] else list(tx.stop_data)
        if data:
            payload["transactionData"] = data
        self._persist_open_transactions()
        msg = TxMessage("StopTransaction", payload, tx)
        if reason in ("HardReset", "SoftReset", "PowerLoss"):
            self.txq.put(msg)  # it must be queued before the station goes down
        else:
            self._queue_after_status(c, msg)
        log.info("station: connector %d: transaction stopped (%s)", c.number, reason)

    def _queue_after_status(self, c: ConnectorState, msg: TxMessage) -> None:
        """Queue a transaction message; with behaviour status_before_transaction_message only
        once the status change it causes has been acknowledged (online; at most 3 s)."""
        if not self.behaves("status_before_transaction_message") or not self.online:
            self.txq.put(msg)
            return
        before = c.status_sent
        changed = asyncio.Event()

        def on_status(n: int, status: str, _error: str) -> None:
            if n == c.number and status != before:
                changed.set()

        self._listeners.append(on_status)

        async def after_status() -> None:
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._s(3.0)):
                        await changed.wait()
            finally:
                self._listeners.remove(on_status)
                self.txq.put(msg)

        self.spawn(after_status())

    async def _on_tx_result(self, msg: TxMessage, result: dict) -> None:
        if msg.action != "StartTransaction" or msg.tx is None:
            return
        tx = msg.tx
        tx.id = result.get("transactionId")
        info = result.get("idTagInfo", {})
        tx.parent_id_tag = info.get("parentIdTag", tx.parent_id_tag)
        if self.cache_enabled:
            cache = self.store.get("auth_cache", {})
            cache[tx.id_tag] = info
            self.store.put("auth_cache", cache)
        c = self.connectors[tx.connector]
        if c.tx is tx:
            self._persist_open_transactions()
        if info.get("status") == "Accepted" or c.tx is not tx:
            return
        if self.key_bool("StopTransactionOnInvalidId"):
            self.stop_transaction(c, "DeAuthorized")
        else:
            tx.deauthorized = True  # the transaction stays, energy stops (SuspendedEVSE)

    async def _sampled_loop(self, c: ConnectorState, tx: Transaction) -> None:
        """Sample.Periodic MeterValues every MeterValueSampleInterval from the start."""
        due = tx.started_mono
        while True:
            interval = self.key_int("MeterValueSampleInterval")
            if interval <= 0:
                await asyncio.sleep(1)
                due = self._now()
                continue
            if self.fault("meter_interval_12s"):
                interval *= 1.2
            due += self._s(interval)
            await asyncio.sleep(max(0.0, due - self._now()))
            if c.tx is not tx:
                return
            if self.key_int("MeterValueSampleInterval") <= 0:
                continue  # switched off meanwhile
            self._send_meter_values(c, tx, "Sample.Periodic", "MeterValuesSampledData",
                                    "StopTxnSampledData")

    def _send_meter_values(self, c: ConnectorState, tx: Transaction | None, context: str,
                           key: str, stop_key: str, at: datetime | None = None) -> None:
        phys = self.model.connector(c.number)
        at = at or self.clock()
        mv = meter_value(phys, measurand_list(self.key(key)), context, at, self._energy_gain())
        payload: dict[str, Any] = {"connectorId": c.number, "meterValue": [mv]}
        if tx is not None:
            self.txq.put(TxMessage("MeterValues", payload, tx))
            stop_mv = meter_value(phys, measurand_list(self.key(stop_key)), context, at,
                                  self._energy_gain())
            if stop_mv["sampledValue"] and len(tx.stop_data) < 100:
                tx.stop_data.append(stop_mv)

    async def _clock_aligned_loop(self) -> None:
        """Sample.Clock MeterValues at wall-clock multiples of ClockAlignedDataInterval,
        for connectors with a transaction (outside one they would starve the heartbeat)."""
        while True:
            interval = self.key_int("ClockAlignedDataInterval")
            if interval <= 0:
                await asyncio.sleep(0.5)
                continue
            skew = (self.clock() - datetime.now(UTC)).total_seconds()  # 0 unless clock_ahead
            now = time.time() + skew  # the aligned instants are those of the station's clock
            boundary = (int(now // interval) + 1) * interval
            send_at = boundary + (interval / 2 if self.fault("clock_aligned_off_boundary") else 0)
            if self.fault("clock_aligned_late"):
                send_at += interval * self.cfg.clock_aligned_late_fraction
            # a ChangeConfiguration of the interval wakes the wait and takes effect at once
            self._key_changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, send_at - skew - time.time())):
                    await self._key_changed.wait()
            if time.time() + skew < send_at \
                    or self.key_int("ClockAlignedDataInterval") != interval:
                continue
            stamp = datetime.fromtimestamp(send_at, UTC)
            for c in self.connectors.values():
                if c.tx is not None and not c.tx.stopping:
                    self._send_meter_values(c, c.tx, "Sample.Clock", "MeterValuesAlignedData",
                                            "StopTxnAlignedData", stamp)
            if self.behaves("heartbeat_skips_and_queues") and all(
                    c.tx is None for c in self.connectors.values()):
                self.spawn(self._send_main_meter(stamp))

    async def _send_main_meter(self, stamp: datetime) -> None:
        """Clock-aligned MeterValues of the main meter (connectorId 0): the sum of the
        connectors' registers. Not a transaction message: dropped while offline."""
        link = self.link
        if link is None or not self.online:
            return
        total = _MainMeter(sum(self.model.connector(c).energy_wh for c in self.connectors))
        mv = meter_value(total, ["Energy.Active.Import.Register"], "Sample.Clock", stamp)
        try:
            await link.call("MeterValues", {"connectorId": 0, "meterValue": [mv]})
        except (LinkDown, PeerError, CallTimeout) as exc:
            log.info("station: main-meter MeterValues not delivered: %s", exc)

    # --- commands from the CSMS (see handlers.py) ----------------------------------------

    async def reset(self, kind: str) -> None:
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        if kind == "Hard" and self.behaves("hard_reset_stops_after_reboot"):
            # reboot at once; the open transactions end after it, from non-volatile memory
            self._persist_open_transactions()
            self.store.put("stop_reason_at_boot", reason)
        else:
            for c in self.connectors.values():
                if c.tx is not None:
                    self.stop_transaction(c, reason)
        await self.txq.drained(self._s(self.cfg.reset_flush_s))
        # the StatusNotifications of the stop (Finishing) go out before the link closes, not
        # only when the CSMS happened to answer the StopTransaction slowly enough
        await self._statuses_sent(self._s(self.cfg.reset_flush_s))
        await self.reboot()

    async def reboot(self) -> None:
        """Close the connection and boot again (volatile state lost, non-volatile kept)."""
        self.reboot_requested = True
        if self.link is not None:
            await self.link.close()


@dataclass(frozen=True, slots=True)
class _MainMeter:
    """What meter_value reads from the station's main meter."""

    energy_wh: float

"""One station session: the same object across reconnects of the same identity.

Test plans call, expect, forbid and cut the network through it; the receive loop
(bench/csms/receiver.py) feeds it what arrives.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.csms import framing, schemas
from bench.csms.errors import CallTimeout, ExpectTimeout, InvalidOutgoingPayload, StationGone
from bench.csms.matching import describe_pattern, short_payload
from bench.csms.messages import CALL, CallResult, Received
from bench.csms.responders import Responders
from bench.csms.windows import ForbidWindow, Mailbox, Waiter
from bench.record import Direction, FrameRecord

if TYPE_CHECKING:
    from bench.csms.server import Csms

RECENT_FRAMES = 8
TIMED_OUT_MEMORY = 64
# A session keeps a bounded picture of its station; the run record keeps everything. What is
# let go is counted in Station.let_go (recorded with every disconnect).
FINDINGS_KEPT = 500
OPEN_TRANSACTIONS_KEPT = 256
FINISHED_TRANSACTIONS_KEPT = 1000
CONNECTORS_KEPT = 64


@dataclass(slots=True)
class Transaction:
    transaction_id: int
    connector_id: int | None
    id_tag: str | None
    meter_start: int | None
    timestamp: str | None
    mono_ns: int


@dataclass(slots=True)
class PendingCall:
    msg_id: str
    action: str
    ws: ServerConnection
    future: asyncio.Future[tuple[framing.ParsedFrame, int, int, str]]


class Station:
    """Session of one charge point identity."""

    def __init__(self, csms: Csms, station_id: str) -> None:
        self.id = station_id
        self._csms = csms
        self._record = csms.record
        self.settings = csms.settings
        self.responders = Responders(csms.defaults.table(), self)
        self.mailbox = Mailbox(csms.inbox_budget)
        self.ws: ServerConnection | None = None
        self.generation = 0  # +1 per accepted connection
        self._gen_at_disconnect = 0
        self.refused_until_ns: int | None = None
        self._call_lock = asyncio.Lock()
        self.pending: PendingCall | None = None
        self.timed_out: OrderedDict[str, str] = OrderedDict()  # msg id -> action
        self.recent: deque[tuple[str, int | None, str | None, Any]] = deque(maxlen=RECENT_FRAMES)
        self._watchers: list[asyncio.Future[None]] = []
        # what was seen
        self.booted = False
        self.boot_count = 0
        self.last_boot: dict[str, Any] | None = None
        self.connector_status: dict[int, dict[str, Any]] = {}
        self.transactions: dict[int, Transaction] = {}
        self.finished_transactions: deque[Transaction] = deque(maxlen=FINISHED_TRANSACTIONS_KEPT)
        self.findings: deque[dict[str, Any]] = deque(maxlen=FINDINGS_KEPT)  # the latest
        self.finding_counts: Counter[str] = Counter()  # every finding, by code
        self._let_go: Counter[str] = Counter()
        self.connected_mono_ns: int | None = None
        self.disconnected_mono_ns: int | None = None
        self.close_reason: str | None = None

    # -- state ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.ws is not None

    def __repr__(self) -> str:
        return f"<Station {self.id} connected={self.connected} booted={self.booted}>"

    def _notify(self) -> None:
        watchers, self._watchers = self._watchers, []
        for f in watchers:
            if not f.done():
                f.set_result(None)

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float,  # noqa: ASYNC109
                          what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExpectTimeout(
                    f"station {self.id}: waited {timeout:g} s for {what}; {self._situation()}")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._watchers.append(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass

    def _situation(self) -> str:
        state = "connected" if self.connected else "not connected"
        return (f"{state}, {self.generation} connection(s), booted={self.booted}; "
                f"last frames: {self.last_frames()}")

    def last_frames(self) -> str:
        """The last frames of this station, both directions, short (for error messages)."""
        if not self.recent:
            return "none"
        names = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
        parts = []
        for direction, mt, action, payload in self.recent:
            arrow = "<-" if direction == "in" else "->"
            kind = names.get(mt, "?") if mt is not None else "?"
            parts.append(f"{arrow} {kind} {action or ''} {short_payload(payload, 80)}")
        return "; ".join(parts)

    # -- connection lifecycle (called by the server and the receive loop) -----------------
    def attach(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.generation += 1
        self.connected_mono_ns = time.monotonic_ns()
        self._notify()

    def detach(self, ws: ServerConnection, reason: str) -> None:
        if self.ws is not ws:
            return  # an older connection, already replaced
        self.ws = None
        self.disconnected_mono_ns = time.monotonic_ns()
        self._gen_at_disconnect = self.generation
        self.close_reason = reason
        p = self.pending
        if p is not None and p.ws is ws and not p.future.done():
            p.future.set_exception(StationGone(
                f"station {self.id} disconnected while {p.action} (msg id {p.msg_id}) "
                f"awaited its answer ({reason})"))
        self._notify()

    def refused_for_s(self) -> float | None:
        """Seconds left of a refuse window set by disconnect(refuse_for=...)."""
        if self.refused_until_ns is None:
            return None
        left = (self.refused_until_ns - time.monotonic_ns()) / 1e9
        if left <= 0:
            self.refused_until_ns = None
            return None
        return left

    @property
    def let_go(self) -> dict[str, int]:
        """How many entries each bounded collection of the session let go, oldest first."""
        counts = dict(self._let_go)
        if self.mailbox.dropped:
            counts["inbox"] = self.mailbox.dropped
        return counts

    def _keep(self, bounded: deque[Any], item: Any, name: str) -> None:
        if len(bounded) == bounded.maxlen:
            self._let_go[name] += 1
        bounded.append(item)

    def finding(self, name: str, message: str, frame_seq: int | None = None, **detail: Any) -> None:
        """A station non-conformance seen by the endpoint: recorded and kept on the session."""
        self.finding_counts[name] += 1
        self._keep(self.findings,
                   {"code": name, "message": message, "frame_seq": frame_seq, **detail},
                   "findings")
        self._record.event("finding", name, station=self.id, message=message,
                           frame_seq=frame_seq, **detail)

    # -- what test plans call --------------------------------------------------------------
    async def call(self, action: str, payload: Mapping[str, Any] | None = None,
                   timeout: float | None = None,  # noqa: ASYNC109
                   validate: bool = True) -> CallResult:
        """Send a CALL and await its CALLRESULT or CALLERROR (one outstanding CALL at a time).

        validate=False sends a payload that breaks the schema on purpose (still recorded as
        invalid). Raises CallTimeout, StationGone or InvalidOutgoingPayload.
        """
        body = dict(payload or {})
        timeout = self.settings.response_timeout_s if timeout is None else timeout
        verdict = "ok"
        if action not in schemas.all_actions():
            if validate:
                raise InvalidOutgoingPayload(f"{action!r} is not an OCPP 1.6 action")
            verdict = "invalid: NotImplemented: unknown action"
        else:
            v = schemas.check_request(action, body)
            if v is not None:
                if validate:
                    raise InvalidOutgoingPayload(
                        f"bench CALL {action} breaks the OCPP 1.6 schema: {v.code}: {v.message}")
                verdict = v.verdict
        async with self._call_lock:
            ws = self.ws
            if ws is None:
                raise StationGone(f"station {self.id} is not connected; cannot send {action}")
            msg_id = str(uuid.uuid4())
            raw = framing.call_frame(msg_id, action, body)
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.pending = PendingCall(msg_id, action, ws, fut)
            try:
                # Stamped as the frame is handed to the socket: a stamp taken after send()
                # returns can be late by a preemption and make response times read short.
                sent_ns = time.monotonic_ns()
                try:
                    async with asyncio.timeout(timeout):  # a station that stops reading
                        await ws.send(raw)
                except ConnectionClosed as e:
                    raise StationGone(f"station {self.id} disconnected before {action} "
                                      f"(msg id {msg_id}) could be sent: {e}") from e
                except TimeoutError:
                    raise CallTimeout(
                        f"station {self.id}: {action} (msg id {msg_id}) could not be handed to "
                        f"the socket within {timeout:g} s (station not reading)",
                        action, msg_id, timeout) from None
                sent_seq = self._record.frame(FrameRecord(
                    sent_ns, self.id, Direction.OUT, raw, CALL, msg_id, action, verdict))
                self.recent.append(("out", CALL, action, body))
                try:
                    async with asyncio.timeout(timeout):
                        frame, answered_ns, answer_seq, answer_verdict = await fut
                except TimeoutError:
                    self.timed_out[msg_id] = action
                    while len(self.timed_out) > TIMED_OUT_MEMORY:
                        self.timed_out.popitem(last=False)
                        self._let_go["timed_out"] += 1
                    self._record.event("log", "call-timeout", station=self.id, action=action,
                                       msg_id=msg_id, timeout_s=timeout)
                    raise CallTimeout(
                        f"station {self.id}: no answer to {action} (msg id {msg_id}) within "
                        f"{timeout:g} s; last frames: {self.last_frames()}",
                        action, msg_id, timeout) from None
            finally:
                self.pending = None
        if frame.error is not None:
            return CallResult(action, msg_id, None, frame.error, sent_ns, answered_ns,
                              (sent_seq, answer_seq), answer_verdict)
        return CallResult(action, msg_id, frame.payload, None, sent_ns, answered_ns,
                          (sent_seq, answer_seq), answer_verdict)

    async def expect(self, action: str, match: Mapping[str, Any] | None = None,
                     within: float = 30.0, after: int | None = None) -> Received:
        """The oldest unconsumed `action` CALL matching `match` (arrived at or after `after`),
        waiting up to `within` seconds for it; consumes it. Raises ExpectTimeout."""
        msg = self.mailbox.take(action, match, after)
        if msg is not None:
            return msg
        fut: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        waiter = Waiter(action, match, after, fut)
        self.mailbox.waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                return await fut
        except TimeoutError:
            raise ExpectTimeout(
                f"station {self.id}: expected {action} ({describe_pattern(match)}) within "
                f"{within:g} s, none came; {self._situation()}") from None
        finally:
            if waiter in self.mailbox.waiters:
                self.mailbox.waiters.remove(waiter)

    def forbid(self, action: str, match: Mapping[str, Any] | None = None) -> ForbidWindow:
        """A window (`with`/`async with`) in which a matching station CALL fails the case."""
        forbids = self.mailbox.forbids

        def close(window: ForbidWindow) -> None:
            if window in forbids:
                forbids.remove(window)

        return ForbidWindow(self.id, action, match, on_close=close, on_open=forbids.append)

    def received(self, action: str | None = None) -> list[Received]:
        """Unconsumed station CALLs (not removed)."""
        return [m for m in self.mailbox.inbox if action is None or m.action == action]

    def clear_inbox(self, before_ns: int | None = None) -> int:
        return self.mailbox.clear(before_ns)

    async def wait_connected(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        await self._wait_until(lambda: self.connected, timeout, "a connection")

    async def wait_booted(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        await self._wait_until(lambda: self.connected and self.booted, timeout,
                               "a connection and an accepted BootNotification")

    async def wait_reconnected(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait for a connection newer than the last disconnect."""
        await self._wait_until(lambda: self.connected and self.generation > self._gen_at_disconnect,
                               timeout, "the station to reconnect")

    async def disconnect(self, refuse_for: float = 0.0, abrupt: bool = True,
                         timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Drop the station's connection (a network cut as seen from the CSMS) and refuse its
        reconnects for `refuse_for` seconds (HTTP 503). abrupt=False closes with a handshake."""
        ws = self.ws
        if refuse_for > 0:
            self.refused_until_ns = time.monotonic_ns() + int(refuse_for * 1e9)
        self._record.event("connection", "cut", station=self.id, refuse_for_s=refuse_for,
                           abrupt=abrupt, was_connected=ws is not None)
        if ws is None:
            return
        if abrupt:
            ws.transport.abort()
        else:
            await ws.close(1001, "bench: network cut")
        await self._wait_until(lambda: self.ws is not ws, timeout, "the connection to close")

    def _observe(self, action: str, payload: dict[str, Any], reply: Any) -> None:
        """Update the picture of the station from a CALL and the answer it got."""
        if action == "BootNotification":
            changed = payload != self.last_boot  # a reboot with the same payload: file is right
            self.last_boot = payload
            self.boot_count += 1
            if isinstance(reply, dict) and reply.get("status") == "Accepted":
                self.booted = True
            if changed:
                self._csms.snapshot_station(self.id, {"id": self.id, **payload})
            self._notify()
        elif action == "StatusNotification":
            connector = payload.get("connectorId", -1)
            self._bounded_put(self.connector_status, connector, payload, CONNECTORS_KEPT,
                              "connector_status")
        elif action == "StartTransaction":
            if isinstance(reply, dict) and isinstance(reply.get("transactionId"), int):
                tid = reply["transactionId"]
                self._bounded_put(self.transactions, tid, Transaction(
                    tid, payload.get("connectorId"), payload.get("idTag"),
                    payload.get("meterStart"), payload.get("timestamp"), time.monotonic_ns()),
                    OPEN_TRANSACTIONS_KEPT, "transactions")
        elif action == "StopTransaction":
            tx = self.transactions.pop(payload.get("transactionId", -1), None)
            if tx is not None:
                self._keep(self.finished_transactions, tx, "finished_transactions")

    def _bounded_put(self, table: dict[Any, Any], key: Any, value: Any, limit: int,
                     name: str) -> None:
        """table[key] = value, letting the oldest entry go when a new key would pass `limit`."""
        if key not in table and len(table) >= limit:
            del table[next(iter(table))]
            self._let_go[name] += 1
        table[key] = value

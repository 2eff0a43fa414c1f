"""One station session: the same object across reconnects of the same identity.

Test plans call, expect, forbid and cut the network through it and read what the station is
doing in `station.session` (bench/csms/session.py). The receive loop (bench/csms/receiver.py)
feeds it through the narrow port it offers (responder, finding, note_frame, deliver,
awaited_call, answer_arrived); the endpoint attaches and detaches its links.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.csms.connection import WsLink
from bench.csms.errors import CallTimeout, ExpectTimeout, InvalidOutgoingPayload, StationGone
from bench.csms.handshake import BasicSeen
from bench.csms.matching import describe_pattern, short_payload
from bench.csms.messages import CALL, CallResult, Received
from bench.csms.protocol import OcppVersion, ParsedFrame
from bench.csms.responders import Responder, Responders
from bench.csms.secrets import REDACTED
from bench.csms.session import (
    Booted,
    ResponseSample,
    SessionState,
)
from bench.csms.settings import CsmsSettings
from bench.csms.versions import SUPPORTED, for_subprotocol
from bench.csms.windows import ForbidWindow, InboxBudget, Mailbox, Waiter
from bench.record import Direction, FrameRecord, RunRecord
from instruments.deadline import within_deadline

RECENT_FRAMES = 8
TIMED_OUT_MEMORY = 64
# A session keeps a bounded picture of its station; the run record keeps everything. What is
# let go is counted in Station.let_go (recorded with every disconnect).
FINDINGS_KEPT = 500


@dataclass(frozen=True, slots=True)
class HandshakeSeen:
    """One opening handshake of an identity as the endpoint answered it."""

    mono_ns: int
    status: int | None  # 101 accepted, else the refusal's HTTP status (None: none sent)
    reason: str  # holds no key (scrubbed)
    tls: bool
    # what the request offered, whatever the decision (the transport cases judge these)
    offered: tuple[str, ...] = ()  # Sec-WebSocket-Protocol values
    selected: str | None = None  # the subprotocol the accepted handshake selected
    basic: BasicSeen | None = None  # the Authorization header's shape (no secret)
    client_cn: str | None = None  # CN of the TLS client certificate (profile 3)

    @property
    def accepted(self) -> bool:
        return self.status == 101


@dataclass(slots=True, eq=False)
class PendingCall:
    """A CALL of the bench, while awaited and (briefly) after its timeout."""

    msg_id: str
    action: str
    link: Any
    future: asyncio.Future[tuple[ParsedFrame, int, int, str]]
    case: str | None = None
    attempt: int | None = None
    sent_ns: int | None = None
    sent_seq: int | None = None

    @property
    def live(self) -> bool:
        return not self.future.done()


def _without_credential(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with a new AuthorizationKey hidden (the record never holds a key); else itself."""
    if action == "ChangeConfiguration" and body.get("key") == "AuthorizationKey":
        return {**body, "value": REDACTED}
    return body


class Station:
    """Session of one charge point identity."""

    def __init__(self, station_id: str, settings: CsmsSettings, record: RunRecord,
                 defaults: dict[str, Responder], inbox_budget: InboxBudget | None = None,
                 configured: bool = True) -> None:
        self.id = station_id
        self.settings = settings
        self.record = record
        self.responders = Responders(defaults)
        self.mailbox = Mailbox(inbox_budget)
        self._let_go: Counter[str] = Counter()
        self.session = SessionState(station_id, configured, self._let_go,
                                    on_listener_error=self._listener_failed)
        self.session.subscribe(Booted, lambda _event: self._notify())
        self.link: WsLink | None = None
        self.ocpp: OcppVersion = SUPPORTED[0]  # the version of the current link
        self.generation = 0  # +1 per accepted connection
        self._gen_at_disconnect = 0
        self.refused_until_ns: int | None = None
        self._call_lock = asyncio.Lock()
        self.pending: PendingCall | None = None
        self.timed_out: OrderedDict[str, PendingCall] = OrderedDict()  # msg id -> its CALL
        self.recent: deque[tuple[str, int | None, str | None, Any]] = deque(maxlen=RECENT_FRAMES)
        self._watchers: list[asyncio.Future[None]] = []
        self.findings: deque[dict[str, Any]] = deque(maxlen=FINDINGS_KEPT)  # the latest
        self.finding_counts: Counter[str] = Counter()  # every finding, by code
        self.connected_mono_ns: int | None = None
        self.disconnected_mono_ns: int | None = None
        self.close_reason: str | None = None
        # the latest opening handshakes of this identity, accepted or refused
        self.handshakes: deque[HandshakeSeen] = deque(maxlen=RECENT_FRAMES * 4)

    # -- state ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.link is not None

    @property
    def booted(self) -> bool:
        """A BootNotification was accepted on this session (at any connection)."""
        return self.session.booted

    @property
    def stamp_source(self) -> str:
        """Where the arrival stamps of the current link come from (kernel or the read)."""
        return self.link.stamp_source if self.link is not None else "not connected"

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
                await within_deadline(fut, remaining)
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

    def _listener_failed(self, listener: Any, exc: Exception) -> None:
        name = getattr(listener, "__qualname__", type(listener).__name__)
        self.record.event("log", "session-listener-error", station=self.id, listener=name,
                          error=repr(exc)[:500])

    # -- connection lifecycle (called by the endpoint) ------------------------------------
    def attach(self, link: WsLink) -> None:
        self.link = link
        self.ocpp = for_subprotocol(link.subprotocol)
        self.generation += 1
        self.connected_mono_ns = link.opened_mono_ns or time.monotonic_ns()
        self._notify()

    def detach(self, link: WsLink, reason: str) -> None:
        if self.link is not link:
            return  # an older connection, already replaced
        self.link = None
        self.disconnected_mono_ns = time.monotonic_ns()
        self._gen_at_disconnect = self.generation
        self.close_reason = reason
        p = self.pending
        if p is not None and p.link is link and not p.future.done():
            p.future.set_exception(StationGone(
                f"station {self.id} disconnected while {p.action} (msg id {p.msg_id}) "
                f"awaited its answer ({reason})"))
        self._notify()

    def use_authorization_key(self, key: bytes) -> None:
        """From now on this identity must present `key` (its old key is refused)."""
        self.settings.replace_key(self.id, key)
        self.record.event("connection", "authorization-key-replaced", station=self.id,
                          key_bytes=len(key))

    def refusals(self, since_ns: int = 0) -> list[HandshakeSeen]:
        return [h for h in self.handshakes if not h.accepted and h.mono_ns >= since_ns]

    def raise_security_profile(self, profile: int) -> None:
        """From now on this identity must connect at `profile` (a plain connection is refused
        from profile 2 on): the CSMS's side of a SecurityProfile upgrade."""
        self.settings.station_profiles[self.id] = profile
        self.record.event("connection", "security-profile-raised", station=self.id,
                          profile=profile)

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
        counts = {k: v for k, v in self._let_go.items() if v}
        if self.mailbox.dropped:
            counts["inbox"] = self.mailbox.dropped
        return counts

    # -- the receive loop's port (bench/csms/receiver.py SessionPort) ----------------------
    def responder(self, action: str) -> Responder | None:
        return self.responders.lookup(action)

    def finding(self, name: str, message: str, frame_seq: int | None = None, **detail: Any) -> None:
        """A station non-conformance seen by the endpoint: recorded and kept on the session."""
        self.finding_counts[name] += 1
        if len(self.findings) == self.findings.maxlen:
            self._let_go["findings"] += 1
        self.findings.append({"code": name, "message": message, "frame_seq": frame_seq,
                              **detail})
        self.record.event("finding", name, station=self.id, message=message,
                          frame_seq=frame_seq, **detail)

    def note_frame(self, direction: str, msg_type: int | None, action: str | None,
                   what: Any) -> None:
        self.recent.append((direction, msg_type, action, what))

    def deliver(self, msg: Received, size: int) -> None:
        for window in self.mailbox.deliver(msg, size):
            self.finding("forbidden-message",
                         f"{msg.action} arrived in a window that forbids {window.describe()}",
                         msg.seq, window=window.describe())

    def awaited_call(self, link: Any, msg_id: Any) -> PendingCall | None:
        """The CALL an answer with `msg_id` on `link` belongs to: the one awaited, or one
        whose response timeout passed; None when the bench never sent it."""
        if msg_id is None:
            return None
        p = self.pending
        if p is not None and p.link is link and p.live and str(msg_id) == p.msg_id:
            return p
        return self.timed_out.get(str(msg_id))

    def answer_arrived(self, call: PendingCall, frame: ParsedFrame, mono_ns: int, seq: int,
                       verdict: str) -> None:
        if call.live:
            call.future.set_result((frame, mono_ns, seq, verdict))
            return
        # a late answer still has a response time (beyond the timeout)
        self.timed_out.pop(call.msg_id, None)
        if call.sent_ns is not None and call.sent_seq is not None:
            self.session.response(ResponseSample(
                call.action, (mono_ns - call.sent_ns) / 1e9, call.sent_seq, seq, call.case,
                frame.error.code if frame.error is not None else None, call.attempt, late=True))

    # -- what test plans call --------------------------------------------------------------
    async def call(self, action: str, payload: Mapping[str, Any] | None = None,
                   timeout: float | None = None,  # noqa: ASYNC109
                   validate: bool = True) -> CallResult:
        """Send a CALL and await its CALLRESULT or CALLERROR (one outstanding CALL at a time).

        validate=False sends a payload that breaks the schema on purpose (still recorded as
        invalid). Raises CallTimeout, StationGone or InvalidOutgoingPayload. Its response time
        runs from the send syscall that handed the CALL's last byte to the kernel to the
        kernel's receive stamp of the answer (both CLOCK_MONOTONIC).
        """
        body = dict(payload or {})
        timeout = self.settings.response_timeout_s if timeout is None else timeout
        ocpp = self.ocpp
        verdict = "ok"
        if not ocpp.is_action(action):
            if validate:
                raise InvalidOutgoingPayload(f"{action!r} is not an {ocpp.name} action")
            verdict = "invalid: NotImplemented: unknown action"
        else:
            v = ocpp.check_request(action, body)
            if v is not None:
                if validate:
                    raise InvalidOutgoingPayload(
                        f"bench CALL {action} breaks the {ocpp.name} schema: {v.code}: "
                        f"{v.message}")
                verdict = v.verdict
        async with self._call_lock:
            link = self.link
            if link is None:
                raise StationGone(f"station {self.id} is not connected; cannot send {action}")
            msg_id = str(uuid.uuid4())
            raw = self.ocpp.call_frame(msg_id, action, body)
            shown = _without_credential(action, body)  # what the record and messages keep
            recorded = raw if shown is body else self.ocpp.call_frame(msg_id, action, shown)
            case = self.record.current_case
            pending = PendingCall(msg_id, action, link,
                                  asyncio.get_running_loop().create_future(), case,
                                  self.record.current_attempt if case is not None else None)
            self.pending = pending
            try:
                sent_ns = await self._hand_over(link, raw, action, msg_id, timeout)
                pending.sent_ns = sent_ns
                pending.sent_seq = sent_seq = self.record.frame(FrameRecord(
                    sent_ns, self.id, Direction.OUT, recorded, CALL, msg_id, action, verdict,
                    note=None if recorded is raw else "value redacted: a credential"))
                self.note_frame("out", CALL, action, shown)
                try:
                    async with asyncio.timeout(timeout):
                        frame, answered_ns, answer_seq, answer_verdict = await pending.future
                except TimeoutError:
                    self.timed_out[msg_id] = pending
                    while len(self.timed_out) > TIMED_OUT_MEMORY:
                        self.timed_out.popitem(last=False)
                        self._let_go["timed_out"] += 1
                    self.record.event("log", "call-timeout", station=self.id, action=action,
                                      msg_id=msg_id, timeout_s=timeout)
                    raise CallTimeout(
                        f"station {self.id}: no answer to {action} (msg id {msg_id}) within "
                        f"{timeout:g} s; last frames: {self.last_frames()}",
                        action, msg_id, timeout) from None
            finally:
                self.pending = None
        error = frame.error
        self.session.response(ResponseSample(
            action, (answered_ns - sent_ns) / 1e9, sent_seq, answer_seq, pending.case,
            error.code if error is not None else None, pending.attempt))
        return CallResult(action, msg_id, frame.payload if error is None else None, error,
                          sent_ns, answered_ns, (sent_seq, answer_seq), answer_verdict)

    async def _hand_over(self, link: WsLink, raw: str, action: str, msg_id: str,
                         timeout: float) -> int:  # noqa: ASYNC109
        """Hand a CALL to the kernel; the stamp of the syscall that handed its last byte."""
        sent = link.send_text(raw)
        if sent is None:
            raise StationGone(f"station {self.id} disconnected before {action} (msg id "
                              f"{msg_id}) could be sent")
        if sent.pending is None:
            return sent.stamp_ns
        try:  # a station that stops reading
            async with asyncio.timeout(timeout):
                return await sent.pending
        except TimeoutError:
            raise CallTimeout(
                f"station {self.id}: {action} (msg id {msg_id}) could not be handed to "
                f"the socket within {timeout:g} s (station not reading)",
                action, msg_id, timeout) from None
        except ConnectionError as e:
            raise StationGone(f"station {self.id} disconnected before {action} "
                              f"(msg id {msg_id}) could be sent: {e}") from e

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
        link = self.link
        if refuse_for > 0:
            self.refused_until_ns = time.monotonic_ns() + int(refuse_for * 1e9)
        self.record.event("connection", "cut", station=self.id, refuse_for_s=refuse_for,
                          abrupt=abrupt, was_connected=link is not None)
        if link is None:
            return
        if abrupt:
            link.abort()
        else:
            await link.close(1001, "bench: network cut")
        await self._wait_until(lambda: self.link is not link, timeout, "the connection to close")

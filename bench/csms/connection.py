"""One station's websocket, run by the bench: websockets' sans-I/O ServerProtocol over the
bench's own stamped transport (bench/csms/transport.py).

The library parses the HTTP upgrade and the RFC 6455 framing, answers pings and close frames;
this module does what its asyncio layer would: the opening handshake (the endpoint decides,
`LinkObserver.decide`), one handshake report per connection (with the status actually sent),
messages assembled from fragments and checked for UTF-8, keepalive pings, and the close
handshake with its deadline. A message goes to `on_message(data, stamp_ns)` in the same step
that read its last bytes, with their kernel receive stamp: nothing queues between the socket
and the receive loop. `send_text` hands a frame to the kernel at once and returns its stamp.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.exceptions import InvalidMessage
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import CONNECTING, OPEN
from websockets.server import ServerProtocol

from bench.csms.transport import Sent, StampedTransport

log = logging.getLogger("bench.csms.connection")


class LinkObserver(Protocol):
    """What the endpoint does for a link."""

    def decide(self, link: WsLink, request: Request) -> Response | None:
        """A refusal (link.reject(...)) or None to accept the upgrade."""
        ...

    def handshake_ended(self, link: WsLink, status: int | None, body: str,
                        failure: str | None) -> None: ...

    def opened(self, link: WsLink) -> None: ...

    def tls_refused(self, peer: str, reason: str, detail: dict[str, Any]) -> None: ...

    def serving(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """How a websocket ended: the close frames each side sent (None: none)."""

    rcvd: Close | None
    sent: Close | None
    rcvd_then_sent: bool | None  # True: the bench echoed the station's close
    error: BaseException | None = None

    @property
    def failed_by_bench(self) -> bool:
        """The bench sent its close first (it failed the link or closed it on purpose)."""
        return self.sent is not None and self.rcvd_then_sent is not True

    def describe(self) -> str:
        if self.rcvd is not None:
            return f"closed by station: code {self.rcvd.code} {self.rcvd.reason!r}".rstrip()
        if self.sent is not None:
            return f"closed by bench: code {self.sent.code} {self.sent.reason!r}"
        return "connection lost without close handshake"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    max_size: int
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    open_timeout_s: float = 10.0
    close_timeout_s: float = 10.0
    server_header: str | None = None
    subprotocols: tuple[str, ...] = ()
    logger: Any = None


class WsLink:
    """A websocket connection of one station (a ByteSink of its StampedTransport)."""

    def __init__(self, transport: StampedTransport, observer: LinkObserver,
                 settings: LinkSettings) -> None:
        self.transport = transport
        self.observer = observer
        self.settings = settings
        self.loop = transport.loop
        self.protocol = ServerProtocol(subprotocols=list(settings.subprotocols),
                                       max_size=settings.max_size, logger=settings.logger)
        self.peer = transport.peer
        self.request: Request | None = None
        self.response: Response | None = None
        self.bench_decision: Any = None  # set by the endpoint's decide()
        self.on_message: Callable[[str | bytes, int], None] | None = None
        self.closed: asyncio.Future[CloseInfo] = self.loop.create_future()
        self.opened_mono_ns: int | None = None  # the 101 response handed to the kernel
        self.stopped_by_bench = False
        self.error: BaseException | None = None  # why the bench failed the link, if it did
        self._reported = False
        self._parts: list[bytes] = []
        self._part_opcode: Opcode | None = None
        self._open_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_data: bytes | None = None

    # -- what the session uses ------------------------------------------------------------
    @property
    def state(self) -> Any:
        return self.protocol.state

    @property
    def subprotocol(self) -> str | None:
        return self.protocol.subprotocol

    @property
    def stamp_source(self) -> str:
        return self.transport.stamp_source

    def send_text(self, text: str) -> Sent | None:
        """Hand a text frame to the kernel; None when the websocket is not open."""
        if self.protocol.state is not OPEN:
            return None
        self.protocol.send_text(text.encode("utf-8"))
        return self._flush()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The close handshake, aborted after the close timeout."""
        if self.protocol.state is OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
            self._arm_close_timer()
        elif self.protocol.state is CONNECTING:
            self.abort()
        try:
            async with asyncio.timeout(self.settings.close_timeout_s + 1):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake."""
        self.transport.abort()

    def abort_opening(self) -> None:
        """Drop a connection still in its opening handshake (the endpoint is stopping)."""
        self.stopped_by_bench = True
        self.abort()

    def reject(self, status: int, text: str) -> Response:
        """A plain-text HTTP refusal of the upgrade (for LinkObserver.decide)."""
        return self.protocol.reject(status, text)

    # -- ByteSink -------------------------------------------------------------------------
    def start(self) -> None:
        self.transport.start(self)

    def ready(self) -> None:
        """Bytes flow (after TLS, if any): the opening handshake's deadline starts."""
        self._open_timer = self.loop.call_later(self.settings.open_timeout_s, self._open_too_slow)

    def bytes_received(self, data: bytes, stamp_ns: int) -> None:
        self.protocol.receive_data(data)
        self._process(stamp_ns)

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self._process(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.protocol.receive_eof()  # idempotent: the protocol ends CLOSED
        self.protocol.data_to_send()
        self._cancel_timers()
        if not self._reported:
            self._report(None, "", self._no_request_reason(timed_out=False))
        if not self.closed.done():
            p = self.protocol
            self.closed.set_result(CloseInfo(p.close_rcvd, p.close_sent, p.close_rcvd_then_sent,
                                             exc or self.error))

    def tls_refused(self, reason: str, detail: dict[str, Any]) -> None:
        self._cancel_timers()
        self._reported = True  # no HTTP handshake happened: the TLS refusal is the record
        self.observer.tls_refused(self.peer, reason, detail)
        if not self.closed.done():
            self.closed.set_result(CloseInfo(None, None, None, None))

    # -- processing ------------------------------------------------------------------------
    def _process(self, stamp_ns: int | None) -> None:
        events = self.protocol.events_received()
        self._flush()  # pongs, close echoes, the library's own refusals, EOF
        for event in events:
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame) and stamp_ns is not None:
                self._frame(event, stamp_ns)
        p = self.protocol
        if p.state is CONNECTING and self.request is None and p.handshake_exc is not None:
            # the library refused a request it could not parse (or that was no HTTP at all)
            status = _library_status(p.handshake_exc)
            self._report(status, "", None if status else self._no_request_reason(False))
        if p.close_expected():
            self._arm_close_timer()

    def _handshake(self, request: Request) -> None:
        self.request = request
        p = self.protocol
        try:
            response = self.observer.decide(self, request)
        except Exception as exc:  # a bench bug: refuse like the library does, and say so
            log.exception("deciding on the upgrade request from %s failed", self.peer)
            p.handshake_exc = exc
            response = p.reject(500, "Failed to open a WebSocket connection.\n"
                                     "See server log for more information.\n")
        if response is None:
            response = p.accept(request)
        if self.settings.server_header is not None:
            response.headers["Server"] = self.settings.server_header
        if response.status_code == 101 and not self.observer.serving():
            response = p.reject(503, "Server is shutting down.\n")
        self.response = response
        p.send_response(response)
        sent = self._flush()
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        self._report(response.status_code, response.body.decode("utf-8", "replace"), None)
        if response.status_code == 101 and sent is not None:
            self.opened_mono_ns = sent.stamp_ns
            self._schedule_ping()
            self.observer.opened(self)

    def _frame(self, frame: Frame, stamp_ns: int) -> None:
        op = frame.opcode
        if op is Opcode.TEXT or op is Opcode.BINARY:
            if frame.fin:
                self._message(op, frame.data, stamp_ns)
            else:
                self._parts, self._part_opcode = [frame.data], op
        elif op is Opcode.CONT:
            self._parts.append(frame.data)
            if frame.fin and self._part_opcode is not None:
                data, self._parts = b"".join(self._parts), []
                self._message(self._part_opcode, data, stamp_ns)
        elif op is Opcode.PONG and self._ping_data is not None and frame.data == self._ping_data:
            self._ping_data = None
            if self._pong_timer is not None:
                self._pong_timer.cancel()
                self._pong_timer = None

    def _message(self, op: Opcode, data: bytes, stamp_ns: int) -> None:
        if self.protocol.state is not OPEN:
            return  # the link failed earlier in this read: RFC 6455 §7.1.7 stops processing
        message: str | bytes = data
        if op is Opcode.TEXT:
            try:
                message = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}", exc)
                return
        if self.on_message is None:
            return
        try:
            self.on_message(message, stamp_ns)
        except Exception:  # the receive loop guards itself; this is the last net
            log.exception("handling a message from %s failed", self.peer)

    def _fail(self, code: int, reason: str, exc: BaseException | None = None) -> None:
        self.error = self.error or exc
        self.protocol.fail(code, reason)
        self._flush()
        self._arm_close_timer()

    def _flush(self) -> Sent | None:
        sent = None
        for chunk in self.protocol.data_to_send():
            if not chunk:
                self.transport.write_eof()
                continue
            try:
                sent = self.transport.write(chunk)
            except ConnectionError:
                return None
        return sent

    # -- deadlines -------------------------------------------------------------------------
    def _open_too_slow(self) -> None:
        self._open_timer = None
        if self.protocol.state is CONNECTING and self.response is None:
            self._report(None, "", self._no_request_reason(timed_out=True))
            self.abort()

    def _arm_close_timer(self) -> None:
        if self._close_timer is None and not self.transport.closed:
            self._close_timer = self.loop.call_later(self.settings.close_timeout_s, self.abort)

    def _schedule_ping(self) -> None:
        interval = self.settings.ping_interval_s
        if interval:
            self._ping_timer = self.loop.call_later(interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self.protocol.state is not OPEN:
            return
        if self._ping_data is None:  # the previous ping was answered (or none was sent)
            self._ping_data = os.urandom(4)
            self.protocol.send_ping(self._ping_data)
            self._flush()
            timeout = self.settings.ping_timeout_s
            if timeout:
                self._pong_timer = self.loop.call_later(timeout, self._pong_late)
        self._schedule_ping()

    def _pong_late(self) -> None:
        self._pong_timer = None
        if self.protocol.state is OPEN:
            self._fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout",
                       TimeoutError("no pong to the keepalive ping"))

    def _cancel_timers(self) -> None:
        for name in ("_open_timer", "_close_timer", "_ping_timer", "_pong_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    # -- the handshake report --------------------------------------------------------------
    def _report(self, status: int | None, body: str, failure: str | None) -> None:
        if self._reported:
            return
        self._reported = True
        self.observer.handshake_ended(self, status, body, failure)

    def _no_request_reason(self, timed_out: bool) -> str:
        exc = self.protocol.handshake_exc
        if timed_out:
            return "no complete HTTP upgrade request before the open timeout"
        if self.stopped_by_bench:
            return "the endpoint stopped before a request arrived"
        if exc is None:
            return "peer closed the connection before sending a request"
        cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
        return f"{exc}{cause}"


def _library_status(exc: BaseException) -> int | None:
    """The status websockets sent on its own to a request it could not parse."""
    if isinstance(exc, InvalidMessage):
        return None  # not HTTP: nothing was sent
    return {"RequestLineTooLong": 414, "HeaderLineTooLong": 431,
            "TooManyHeaders": 431}.get(type(exc).__name__)

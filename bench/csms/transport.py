"""One station's TCP connection, read and written by the bench itself so every byte's time is
known: reads with recvmsg and the kernel's receive stamp (bench/csms/stamps.py), writes
stamped right before the send syscall that hands them to the kernel.

asyncio's own transports read with recv() (the ancillary data, so the stamp, is dropped) and
hide a failed TLS handshake, so this transport runs on a non-blocking socket with
loop.add_reader/add_writer. TLS (profiles 2 and 3) runs in ssl.MemoryBIO over the raw bytes:
the plaintext a read yields carries the stamp of the bytes that completed its TLS records.

The layer above is a `ByteSink`: ready() once bytes can flow, bytes_received(data, stamp_ns),
eof_received(), connection_lost(exc), and tls_refused(reason, detail) for a TLS handshake
that failed (then nothing else is called).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from bench.csms.stamps import KernelStamps

READ_SIZE = 1 << 16
# Above this many bytes waiting for a station that does not read, the bench stops reading
# from it (its CALLs would only pile up answers); below the low mark it reads again.
WRITE_HIGH = 1 << 16
WRITE_LOW = 1 << 14

_monotonic_ns = time.monotonic_ns


class ByteSink(Protocol):
    def ready(self) -> None:
        """Bytes can flow: at once for TCP, after the handshake for TLS."""
        ...

    def bytes_received(self, data: bytes, stamp_ns: int) -> None: ...

    def eof_received(self) -> None: ...

    def connection_lost(self, exc: BaseException | None) -> None: ...

    def tls_refused(self, reason: str, detail: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class Sent:
    """A write: `stamp_ns` is taken right before the send syscall that handed its first bytes
    to the kernel (or queued them, when a station had stopped reading); `pending` resolves
    with the stamp of the syscall that handed its last byte, when that was not at once."""

    stamp_ns: int
    pending: asyncio.Future[int] | None = None


def peer_text(addr: Any) -> str:
    if not addr or not isinstance(addr, tuple):
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def tls_refusal(error: BaseException) -> tuple[str, dict[str, Any]]:
    """Why a TLS handshake failed, for people, and the OpenSSL details for the record."""
    detail: dict[str, Any] = {"error": type(error).__name__}
    if isinstance(error, ssl.SSLCertVerificationError):
        detail.update(verify_code=error.verify_code, verify_message=error.verify_message)
        return f"client certificate refused: {error.verify_message}", detail
    if isinstance(error, ssl.SSLEOFError):
        return "peer closed the connection during the TLS handshake", detail
    if isinstance(error, ssl.SSLError):
        detail["ssl_reason"] = error.reason
        known = {
            "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no client certificate (profile 3 requires one)",
            "HTTP_REQUEST": "plain HTTP on the TLS port (ws:// instead of wss://)",
            "UNSUPPORTED_PROTOCOL": "TLS version below 1.2 offered (TLS 1.2 or later required)",
            "WRONG_VERSION_NUMBER": "not a TLS handshake (wrong record version)",
            "NO_SHARED_CIPHER": "no cipher suite in common",
            "TLSV1_ALERT_UNKNOWN_CA": "the station does not trust the bench's certificate",
            "SSLV3_ALERT_BAD_CERTIFICATE": "the station rejected the bench's certificate",
            "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the station rejected the bench's certificate",
        }
        text = known.get(str(error.reason), f"TLS handshake failed: {error.reason or error}")
        return text, detail
    if isinstance(error, TimeoutError):
        return f"no TLS handshake in time: {error}", detail
    if isinstance(error, (ConnectionError, EOFError)):
        return "peer closed the connection during the TLS handshake", detail
    return f"TLS handshake failed: {error!r}", detail


class StampedTransport:
    """A non-blocking accepted socket with stamped reads and writes (one per connection)."""

    def __init__(self, sock: socket.socket, tls: ssl.SSLContext | None = None,
                 tls_timeout_s: float = 10.0) -> None:
        self.loop = asyncio.get_running_loop()
        self.sock = sock
        self._fd = sock.fileno()
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.peer = peer_text(sock.getpeername())
        except OSError:
            self.peer = "?"
        self._stamps = KernelStamps(sock)
        self.sink: ByteSink | None = None
        # TLS in memory: the socket's bytes go through these BIOs
        self._tls_context = tls
        self._tls_timeout_s = tls_timeout_s
        self._incoming: ssl.MemoryBIO | None = None
        self._outgoing: ssl.MemoryBIO | None = None
        self.ssl_object: ssl.SSLObject | None = None
        self._handshaking = False
        self._tls_timer: asyncio.TimerHandle | None = None
        # writing
        self._out: deque[memoryview] = deque()
        self._out_bytes = 0
        self._handed = 0  # bytes handed to the kernel so far
        self._queued = 0  # bytes given to write() so far (ciphertext under TLS)
        self._tickets: deque[tuple[int, asyncio.Future[int]]] = deque()
        self._writing = False
        self._eof_after_flush = False
        self._close_after_flush = False
        # reading
        self._reading = False
        self._paused_by_writes = False
        self._paused_by_user = False
        self.closed = False

    @property
    def stamp_source(self) -> str:
        return self._stamps.source

    @property
    def write_buffer_size(self) -> int:
        return self._out_bytes

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, sink: ByteSink) -> None:
        """Begin reading (and the TLS handshake, if any) into `sink`."""
        self.sink = sink
        if self._tls_context is not None:
            self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.ssl_object = self._tls_context.wrap_bio(self._incoming, self._outgoing,
                                                         server_side=True)
            self._handshaking = True
            self._tls_timer = self.loop.call_later(self._tls_timeout_s, self._tls_too_slow)
        else:
            sink.ready()
        self._resume()

    def abort(self) -> None:
        """Close at once, unsent bytes dropped (a pulled cable as the bench can make one)."""
        self._lost(None)

    def close(self) -> None:
        """Close once everything written has been handed to the kernel."""
        if self.closed:
            return
        if self._out:
            self._close_after_flush = True
            return
        self._lost(None)

    def write_eof(self) -> None:
        """Half-close (after the buffer): a TLS close_notify first, then TCP FIN."""
        if self.closed:
            return
        if self.ssl_object is not None and not self._handshaking:
            try:
                self.ssl_object.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLError, ValueError):
                pass  # the peer's close_notify is not awaited
            self._flush_tls_output()
        if self._out:
            self._eof_after_flush = True
            return
        self._shutdown_write()

    def pause_reading(self) -> None:
        self._paused_by_user = True
        self._pause()

    def resume_reading(self) -> None:
        self._paused_by_user = False
        if not self._paused_by_writes:
            self._resume()

    def peer_certificate(self) -> dict[str, Any] | None:
        return self.ssl_object.getpeercert() if self.ssl_object is not None else None

    # -- reading -------------------------------------------------------------------------
    def _pause(self) -> None:
        if self._reading and not self.closed:
            self.loop.remove_reader(self._fd)
            self._reading = False

    def _resume(self) -> None:
        if not self._reading and not self.closed:
            self.loop.add_reader(self._fd, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data, stamp = self._stamps.recv(self.sock, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        if self.ssl_object is None:
            if data:
                self._deliver(data, stamp)
            else:
                self._eof()
            return
        assert self._incoming is not None
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        if self._handshaking and not self._tls_handshake():
            return
        self._tls_read(stamp, eof=not data)

    def _deliver(self, data: bytes, stamp: int) -> None:
        if self.sink is not None and not self.closed:
            self.sink.bytes_received(data, stamp)

    def _eof(self) -> None:
        self._pause()
        if self.sink is not None and not self.closed:
            self.sink.eof_received()
        # the websocket layer closes when it is done; if it left the socket open, close now
        # (once what is still to be sent has been handed over)
        self.close()

    # -- TLS --------------------------------------------------------------------------------
    def _tls_handshake(self) -> bool:
        """Step the handshake; True once it is complete."""
        assert self.ssl_object is not None
        try:
            self.ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            self._flush_tls_output()
            return False
        except (ssl.SSLError, OSError, ValueError) as exc:
            self._flush_tls_output()  # the alert, if OpenSSL wrote one
            self._tls_failed(exc)
            return False
        self._handshaking = False
        if self._tls_timer is not None:
            self._tls_timer.cancel()
            self._tls_timer = None
        self._flush_tls_output()
        if self.sink is not None:
            self.sink.ready()
        return True

    def _tls_too_slow(self) -> None:
        if self._handshaking and not self.closed:
            self._tls_failed(TimeoutError(
                f"SSL handshake is taking longer than {self._tls_timeout_s:g} seconds"))

    def _tls_failed(self, exc: BaseException) -> None:
        self._handshaking = False
        reason, detail = tls_refusal(exc)
        sink = self.sink
        self.sink = None  # nothing of this connection reaches the websocket layer
        self.close()  # after the alert went out
        if sink is not None:
            sink.tls_refused(reason, detail)

    def _tls_read(self, stamp: int, eof: bool) -> None:
        assert self.ssl_object is not None
        chunks = []
        ended = eof
        while True:
            try:
                chunk = self.ssl_object.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # close_notify: the end of the stream
                ended = True
                break
            except (ssl.SSLError, ValueError) as exc:
                self._flush_tls_output()
                self._lost(exc)
                return
            if not chunk:
                ended = True
                break
            chunks.append(chunk)
        self._flush_tls_output()  # session tickets, key updates, alerts
        if chunks:
            self._deliver(b"".join(chunks), stamp)
        if ended:
            self._eof()

    def _flush_tls_output(self) -> None:
        if self._outgoing is not None and self._outgoing.pending:
            self._write_raw(self._outgoing.read())

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes) -> Sent:
        """Hand `data` to the kernel now if the socket takes it (see Sent)."""
        if self.closed:
            raise ConnectionResetError(f"connection to {self.peer} is closed")
        if self.ssl_object is not None:
            try:
                self.ssl_object.write(data)
            except (ssl.SSLError, ValueError) as exc:  # TLS already shut down
                raise ConnectionResetError(f"connection to {self.peer}: {exc}") from exc
            assert self._outgoing is not None
            data = self._outgoing.read()
        return self._write_raw(data)

    def _write_raw(self, data: bytes) -> Sent:
        self._queued += len(data)
        if self._out:  # behind bytes the station has not read yet
            stamp = _monotonic_ns()
            self._out.append(memoryview(data))
            self._out_bytes += len(data)
            return Sent(stamp, self._ticket())
        stamp = _monotonic_ns()
        try:
            n = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            self._lost(exc)
            raise ConnectionResetError(f"connection to {self.peer}: {exc}") from exc
        self._handed += n
        if n == len(data):
            return Sent(stamp)
        self._out.append(memoryview(data)[n:])
        self._out_bytes += len(data) - n
        if not self._writing:
            self.loop.add_writer(self._fd, self._writable)
            self._writing = True
        self._check_high_water()
        return Sent(stamp, self._ticket())

    def _ticket(self) -> asyncio.Future[int]:
        fut = self.loop.create_future()
        self._tickets.append((self._queued, fut))
        return fut

    def _check_high_water(self) -> None:
        if self._out_bytes > WRITE_HIGH and not self._paused_by_writes:
            self._paused_by_writes = True
            self._pause()

    def _writable(self) -> None:
        while self._out:
            head = self._out[0]
            stamp = _monotonic_ns()
            try:
                n = self.sock.send(head)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._lost(exc)
                return
            self._handed += n
            self._out_bytes -= n
            if n < len(head):
                self._out[0] = head[n:]
                break
            self._out.popleft()
            while self._tickets and self._tickets[0][0] <= self._handed:
                _, fut = self._tickets.popleft()
                if not fut.done():
                    fut.set_result(stamp)
        if self._out:
            return
        if self._writing:
            self.loop.remove_writer(self._fd)
            self._writing = False
        if self._paused_by_writes and self._out_bytes <= WRITE_LOW:
            self._paused_by_writes = False
            if not self._paused_by_user:
                self._resume()
        if self._close_after_flush:
            self._lost(None)
        elif self._eof_after_flush:
            self._eof_after_flush = False
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- the end ----------------------------------------------------------------------------
    def _lost(self, exc: BaseException | None) -> None:
        if self.closed:
            return
        self.closed = True
        if self._reading:
            self.loop.remove_reader(self._fd)
            self._reading = False
        if self._writing:
            self.loop.remove_writer(self._fd)
            self._writing = False
        if self._tls_timer is not None:
            self._tls_timer.cancel()
            self._tls_timer = None
        try:
            self.sock.close()
        except OSError:
            pass
        self._out.clear()
        self._out_bytes = 0
        gone = ConnectionResetError(f"connection to {self.peer} closed before the bytes were "
                                    "handed to the kernel")
        for _, fut in self._tickets:
            if not fut.done():
                fut.set_exception(gone)
                fut.exception()  # retrieved: a caller that gave up need not see it
        self._tickets.clear()
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.connection_lost(exc)

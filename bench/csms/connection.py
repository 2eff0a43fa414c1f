"""The server side of one TCP connection: TLS done here, and how the opening handshake ended.

asyncio's own TLS (`create_server(ssl=...)`) drops a connection whose TLS handshake fails
without telling the application: no client certificate, an untrusted or expired one, plain
HTTP on the TLS port or an old TLS version would leave no trace. So the endpoint listens on
plain TCP and `BenchConnection` upgrades each connection with `loop.start_tls()`: a refusal
reaches `HandshakeObserver.tls_refused` with the peer and the reason.

Every opening handshake ends in `HandshakeObserver.handshake_ended` with the HTTP status
actually sent (also when the websocket library refused the request itself: 400, 414, 426,
431...), or with None and the reason when no response went out (not HTTP, peer gone,
timeout).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection


class HandshakeObserver(Protocol):
    def tls_refused(self, peer: str, reason: str, detail: dict[str, Any]) -> None: ...

    def handshake_ended(self, connection: BenchConnection, status: int | None, body: str,
                        failure: str | None) -> None: ...


def peer_of(transport: asyncio.BaseTransport | None) -> str:
    try:
        addr = transport.get_extra_info("peername") if transport else None
    except Exception:
        addr = None
    if not addr:
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tls_refusal(error: BaseException) -> tuple[str, dict[str, Any]]:
    """Why a TLS handshake failed, for people, and the OpenSSL details for the record."""
    detail: dict[str, Any] = {"error": type(error).__name__}
    if isinstance(error, ssl.SSLCertVerificationError):
        detail.update(verify_code=error.verify_code, verify_message=error.verify_message)
        return f"client certificate refused: {error.verify_message}", detail
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
    if isinstance(error, ConnectionAbortedError):  # asyncio's TLS handshake deadline
        return f"no TLS handshake in time: {error}", detail
    if isinstance(error, (ConnectionError, EOFError)):
        return "peer closed the connection during the TLS handshake", detail
    return f"TLS handshake failed: {error!r}", detail


class BenchConnection(ServerConnection):
    """websockets' ServerConnection with TLS started by the bench and a handshake report."""

    def __init__(self, *args: Any, observer: HandshakeObserver, tls: ssl.SSLContext | None = None,
                 tls_timeout_s: float = 10.0, tls_tasks: set[asyncio.Task[None]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.observer = observer
        self.bench_decision: Any = None  # set by the endpoint's process_request
        self._tls = tls
        self._tls_timeout_s = tls_timeout_s
        self._tls_tasks = tls_tasks if tls_tasks is not None else set()
        # events that arrive between the TLS handshake's end and connection_made (asyncio
        # delivers application data in the same step that completes the handshake)
        self._held: list[tuple[str, tuple[Any, ...]]] | None = None
        self.peer = "?"
        self.stopped_by_bench = False

    # -- TLS ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = peer_of(transport)
        if self._tls is None:
            super().connection_made(transport)
            return
        transport.pause_reading()  # nothing reaches the websocket parser before TLS is up
        self._held = []
        task = asyncio.get_running_loop().create_task(self._start_tls(transport))
        self._tls_tasks.add(task)
        task.add_done_callback(self._tls_tasks.discard)

    async def _start_tls(self, transport: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        try:
            tls_transport = await loop.start_tls(
                transport, self, self._tls, server_side=True,  # type: ignore[arg-type]
                ssl_handshake_timeout=self._tls_timeout_s)
        except asyncio.CancelledError:
            transport.abort()
            raise
        except Exception as e:
            reason, detail = tls_refusal(e)
            transport.abort()
            self.observer.tls_refused(self.peer, reason, detail)
            return
        assert tls_transport is not None
        super().connection_made(tls_transport)
        held, self._held = self._held or [], None
        for name, args in held:
            getattr(super(), name)(*args)

    def data_received(self, data: bytes) -> None:
        if self._held is not None:
            self._held.append(("data_received", (data,)))
            return
        super().data_received(data)

    def eof_received(self) -> None:
        if self._held is not None:
            self._held.append(("eof_received", ()))
            return
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._held is not None:
            self._held.append(("connection_lost", (exc,)))
            return
        super().connection_lost(exc)

    # -- opening handshake ---------------------------------------------------------------------
    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        except asyncio.CancelledError:  # websockets' open_timeout
            self.observer.handshake_ended(self, None, "", self._no_request_reason(timed_out=True))
            raise
        except Exception as e:
            self.observer.handshake_ended(self, None, "", f"opening handshake failed: {e!r}")
            raise
        response = self.response
        if self.request is not None and response is not None:
            self.observer.handshake_ended(self, response.status_code,
                                          response.body.decode("utf-8", "replace"), None)
        else:
            status = self._library_status()
            self.observer.handshake_ended(self, status, "",
                                          None if status else self._no_request_reason(False))

    def abort_opening(self) -> None:
        """Drop a connection still in its opening handshake (the endpoint is stopping)."""
        self.stopped_by_bench = True
        transport = None if self._held is not None else getattr(self, "transport", None)
        if transport is not None:
            transport.abort()

    def _library_status(self) -> int | None:
        """The status websockets sent on its own to a request it could not parse."""
        exc = self.protocol.handshake_exc
        return {"RequestLineTooLong": 414, "HeaderLineTooLong": 431,
                "TooManyHeaders": 431}.get(type(exc).__name__) if exc is not None else None

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

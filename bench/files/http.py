"""HTTP and HTTPS file server: GET /files/<name> serves, PUT or POST /upload[/<name>] receives
(raw body or multipart/form-data, Content-Length or chunked). One thread per request; TLS is
shaken hands in the request's thread, so a silent client never blocks the others."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import socket
import ssl
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bench.files.depot import MAX_UPLOAD_BYTES, Depot
from bench.files.model import Direction, FaultMode, Transfer

DOWNLOAD_PREFIX = "/files/"
UPLOAD_PREFIX = "/upload"
IO_TIMEOUT_S = 30.0  # a stalled peer is dropped after this long without a byte


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], depot: Depot, protocol: str,
                 tls: ssl.SSLContext | None) -> None:
        self.depot, self.protocol, self.tls = depot, protocol, tls
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(IO_TIMEOUT_S)
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return  # a failed TLS handshake: no request to serve
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a peer that vanished mid-request is logged as an incomplete transfer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "ocpp-hil-bench-files"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # transfers are recorded in the run record, not printed

    @property
    def _peer(self) -> str:
        host, port = self.client_address[:2]
        return f"{host}:{port}"

    def _path(self) -> str:
        return unquote(urlsplit(self.path).path)

    def _finish(self, status: HTTPStatus, text: str = "") -> None:
        body = (text + "\n").encode() if text else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    # An answered request is logged before the answer goes out: the station acts on the answer
    # (reports Uploaded, retries), and the record must already hold what the server saw.
    def _log(self, direction: Direction, name: str, started: int, size: int, complete: bool,
             detail: str = "", sha: str | None = None, path: Path | None = None) -> None:
        self.server.depot.log(Transfer(
            self.server.protocol, direction, name, self._peer, started, time.monotonic_ns(),
            size, complete, sha, detail, str(path) if path else None, self.path))

    # -- downloads ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        started = time.monotonic_ns()
        depot = self.server.depot
        path = self._path()
        requested = path[len(DOWNLOAD_PREFIX):] if path.startswith(DOWNLOAD_PREFIX) else ""
        target = depot.served_file(requested) if requested else None
        fault = depot.take_fault(self.server.protocol)
        name = target.name if target else requested
        if target is None or (fault and fault.mode == FaultMode.REFUSE):
            why = "refused (fault armed)" if target else "no such file"
            self._log(Direction.DOWNLOAD, name, started, 0, False, f"404: {why}")
            self._finish(HTTPStatus.NOT_FOUND, why)
            return
        data = target.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault and fault.mode == FaultMode.DROP:
            sent = data[: fault.after_bytes]
            self.wfile.write(sent)
            self.wfile.flush()
            self._drop()
            self._log(Direction.DOWNLOAD, name, started, len(sent), False,
                      f"dropped after {len(sent)} of {len(data)} bytes (fault armed)")
            return
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            self._log(Direction.DOWNLOAD, name, started, 0, False, f"peer gone: {exc}")
            return
        self._log(Direction.DOWNLOAD, name, started, len(data), True,
                  sha=hashlib.sha256(data).hexdigest())

    def _drop(self) -> None:
        """Close the connection without finishing the response (a broken transfer)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- uploads -----------------------------------------------------------------------------
    def do_PUT(self) -> None:
        self._upload()

    def do_POST(self) -> None:
        self._upload()

    def _upload(self) -> None:
        started = time.monotonic_ns()
        depot = self.server.depot
        path = self._path()
        if not (path == UPLOAD_PREFIX or path.startswith(UPLOAD_PREFIX + "/")):
            self._log(Direction.UPLOAD, "", started, 0, False, "404: not an upload path")
            self._finish(HTTPStatus.NOT_FOUND, f"uploads go to {UPLOAD_PREFIX}/")
            return
        requested = path[len(UPLOAD_PREFIX):].strip("/")
        fault = depot.take_fault(self.server.protocol)
        if fault and fault.mode == FaultMode.REFUSE:
            self._log(Direction.UPLOAD, requested, started, 0, False, "403: refused (fault armed)")
            self._finish(HTTPStatus.FORBIDDEN, "uploads refused (fault armed)")
            return
        limit = fault.after_bytes if fault and fault.mode == FaultMode.DROP else None
        try:
            body, complete = self._read_body(limit)
        except ValueError as exc:
            self._log(Direction.UPLOAD, requested, started, 0, False, f"400: {exc}")
            self._finish(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except OSError as exc:
            self._log(Direction.UPLOAD, requested, started, 0, False, f"peer gone: {exc}")
            return
        content = body
        content_type = self.headers.get("Content-Type", "")
        if complete and content_type.lower().startswith("multipart/form-data"):
            requested, content = _multipart_file(content_type, body, requested)
        target = depot.upload_path(requested or "upload.bin")
        target.write_bytes(content)
        if not complete:
            self._log(Direction.UPLOAD, target.name, started, len(content), False,
                      f"dropped after {len(content)} bytes (fault armed)", path=target)
            self._drop()
            return
        self._log(Direction.UPLOAD, target.name, started, len(content), True,
                  hashlib.sha256(content).hexdigest(), path=target)
        self._finish(HTTPStatus.CREATED if self.command == "PUT" else HTTPStatus.OK)

    def _read_body(self, limit: int | None) -> tuple[bytes, bool]:
        """The request body; (what came, False) when `limit` bytes cut it short."""
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if not chunked:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise ValueError("an upload needs Content-Length or chunked transfer encoding")
            size = int(length)
            if size > MAX_UPLOAD_BYTES:
                raise ValueError(f"upload of {size} bytes exceeds {MAX_UPLOAD_BYTES}")
            if limit is not None and limit < size:
                return self.rfile.read(limit), False
            return self.rfile.read(size), True
        parts, total = [], 0
        while True:
            line = self.rfile.readline(64)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline(64)  # the empty line after the last chunk
                return b"".join(parts), True
            total += size
            if total > MAX_UPLOAD_BYTES:
                raise ValueError(f"upload exceeds {MAX_UPLOAD_BYTES} bytes")
            chunk = self.rfile.read(size)
            self.rfile.readline(8)
            parts.append(chunk)
            if limit is not None and total >= limit:
                return b"".join(parts)[:limit], False


def _multipart_file(content_type: str, body: bytes, requested: str) -> tuple[str, bytes]:
    """(file name, bytes) of the first file part of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts():
        filename = part.get_filename()
        if filename is not None:
            return filename or requested, part.get_payload(decode=True) or b""
    return requested, body


class HttpFileServer:
    """One HTTP(S) server on its own thread."""

    def __init__(self, depot: Depot, host: str, protocol: str = "HTTP",
                 tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        if (protocol == "HTTPS") != (tls is not None):
            raise ValueError("HTTPS needs a TLS context, HTTP none")
        self.protocol = protocol
        self._server = _Server((host, port), depot, protocol, tls)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name=f"bench-files-{protocol.lower()}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout_s)

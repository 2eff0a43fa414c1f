"""FTP (and FTPS, where pyOpenSSL is installed) file server on pyftpdlib, in a thread of its own.

One user, `bench`, with a password made per run and given in the URLs: `served/` can be read
(firmware images), `received/` written (diagnostics, logs). An upload's name is made safe
before it touches the disk; a transfer dropped half-way is logged as incomplete."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from bench.files.depot import MAX_UPLOAD_BYTES, Depot, sha256_of
from bench.files.model import Direction, FaultMode, Transfer

USER = "bench"
# transfers go to the run record, not the console: with a handler of its own the library does
# not configure logging to stderr itself (pyftpdlib.log.is_logging_configured)
_library_log = logging.getLogger("pyftpdlib")
_library_log.addHandler(logging.NullHandler())
_library_log.setLevel(logging.WARNING)


class _CappedDTP(DTPHandler):
    """A data channel that breaks off after the control channel's `drop_after` bytes and
    answers 426, as a server whose transfer died would."""

    def _break_off(self) -> None:
        cap = self.cmd_channel.drop_after
        if self.receive and cap is not None and self.file_obj is not None \
                and not self.file_obj.closed:
            self.file_obj.truncate(cap)  # what arrived up to the cut, not the whole last read
        self.transfer_finished = False
        self._resp = ("426 Connection closed; transfer aborted.", logging.debug)
        self.close()

    def send(self, data: Any) -> int:
        cap = self.cmd_channel.drop_after
        if cap is not None:
            data = data[: max(0, cap - self.tot_bytes_sent)]
            if not data:
                self._break_off()
                return 0
        return super().send(data)

    def handle_read(self) -> None:
        super().handle_read()
        cap = self.cmd_channel.drop_after
        limit = MAX_UPLOAD_BYTES if cap is None else cap
        if self.receive and self.tot_bytes_received >= limit and not self._closed:
            self._break_off()

    handle_read_event = handle_read  # the base class binds its own handle_read here


class _Handler(FTPHandler):
    depot: Depot
    protocol = "FTP"
    dtp_handler = _CappedDTP
    use_sendfile = False  # sendfile() bypasses the data channel's send(): no drop fault
    drop_after: int | None = None
    _started = 0
    _requested = ""
    _fault_detail = ""

    def _peer(self) -> str:
        return f"{self.remote_ip}:{self.remote_port}"

    def _take_fault(self) -> FaultMode | None:
        fault = self.depot.take_fault(self.protocol)
        self.drop_after = None
        self._fault_detail = ""
        if fault is None:
            return None
        if fault.mode == FaultMode.DROP:
            self.drop_after = fault.after_bytes
            self._fault_detail = f"dropped after {fault.after_bytes} bytes (fault armed)"
        return fault.mode

    def ftp_RETR(self, file: str) -> Any:
        self._started, self._requested = time.monotonic_ns(), self.fs.fs2ftp(file)
        if self._take_fault() == FaultMode.REFUSE:
            self.respond("550 No such file (fault armed).")
            self._log(Direction.DOWNLOAD, Path(file).name, 0, False, "550: refused (fault armed)")
            return None
        if not Path(file).is_file():  # a bad URL: recorded like HTTP's 404
            self.respond("550 No such file.")
            self._log(Direction.DOWNLOAD, Path(file).name, 0, False, "550: no such file")
            return None
        return super().ftp_RETR(file)

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        self._started, self._requested = time.monotonic_ns(), self.fs.fs2ftp(file)
        if self._take_fault() == FaultMode.REFUSE:
            self.respond("550 Uploads refused (fault armed).")
            self._log(Direction.UPLOAD, Path(file).name, 0, False, "550: refused (fault armed)")
            return None
        target = self.depot.upload_path(Path(file).name)
        return super().ftp_STOR(str(target), mode)

    def _log(self, direction: Direction, name: str, size: int, complete: bool,
             detail: str = "", sha: str | None = None, path: str | None = None) -> None:
        self.depot.log(Transfer(self.protocol, direction, name, self._peer(), self._started,
                                time.monotonic_ns(), size, complete, sha, detail, path,
                                self._requested))

    def on_file_sent(self, file: str) -> None:
        self._log(Direction.DOWNLOAD, Path(file).name, Path(file).stat().st_size, True,
                  sha=sha256_of(Path(file)))

    def on_incomplete_file_sent(self, file: str) -> None:
        sent = self.data_channel.tot_bytes_sent if self.data_channel else 0
        self._log(Direction.DOWNLOAD, Path(file).name, sent, False,
                  self._fault_detail or "the client broke the transfer off")

    def on_file_received(self, file: str) -> None:
        p = Path(file)
        self._log(Direction.UPLOAD, p.name, p.stat().st_size, True, sha=sha256_of(p), path=file)

    def on_incomplete_file_received(self, file: str) -> None:
        p = Path(file)
        size = p.stat().st_size if p.exists() else 0
        self._log(Direction.UPLOAD, p.name, size, False,
                  self._fault_detail or "the upload broke off", path=file)


def _tls_handler() -> type[FTPHandler] | None:
    """The FTPS handler class, or None when pyOpenSSL (pyftpdlib's TLS) is not installed."""
    try:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
    except ImportError:
        return None
    # the TLS mixin's read event drives the TLS handshake and shutdown: keep it, not ours
    capped = type("_CappedTlsDTP", (_CappedDTP, TLS_DTPHandler),
                  {"handle_read_event": TLS_DTPHandler.handle_read_event})
    return type("_TlsBase", (TLS_FTPHandler,), {"dtp_handler": capped})


def ftps_available() -> bool:
    return _tls_handler() is not None


class FtpFileServer:
    """FTP or FTPS (explicit TLS, AUTH TLS) over `root` (which holds served/ and received/)."""

    def __init__(self, depot: Depot, root: Path, host: str, protocol: str = "FTP",
                 tls_files: tuple[Path, Path] | None = None, advertise: str | None = None,
                 port: int = 0) -> None:
        self.protocol = protocol
        self.password = secrets.token_urlsafe(12)
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, self.password, str(root), perm="el")
        authorizer.override_perm(USER, str(depot.served), "elr", recursive=True)
        authorizer.override_perm(USER, str(depot.received), "elw", recursive=True)
        base: type[FTPHandler] = _Handler
        if protocol == "FTPS":
            tls_base = _tls_handler()
            if tls_base is None or tls_files is None:
                raise ValueError("FTPS needs pyOpenSSL and a certificate and key")
            base = type("_TlsHandler", (_Handler, tls_base), {
                "dtp_handler": tls_base.dtp_handler,
                "certfile": str(tls_files[0]), "keyfile": str(tls_files[1]),
                "tls_control_required": True, "tls_data_required": True})
        handler = type("_RunHandler", (base,), {
            "depot": depot, "protocol": protocol, "authorizer": authorizer,
            "banner": "ocpp-hil-bench file server", "timeout": 60,
            "masquerade_address": advertise if advertise and advertise != host else None})
        # an IO loop of its own: pyftpdlib's default is one per process, closed by close_all
        self._server = FTPServer((host, port), handler, ioloop=IOLoop())
        self.port = int(self._server.socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"bench-files-{protocol.lower()}",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.ioloop.loop(timeout=0.2, blocking=False)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._server.close_all()

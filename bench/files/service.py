"""The bench's file servers on the rig's network: firmware images the station downloads
(UpdateFirmware, SignedUpdateFirmware) and the files it uploads (GetDiagnostics, GetLog).

`FileService(root, record, host, advertise)`; `start(protocols)`; `publish(name, data)` ->
URL per protocol; `upload_location(protocol)`; `arm(protocol, TransferFault)` breaks the next
transfer; `await wait_transfer(...)`; `stop()`. Every transfer is a `file`/`transfer` event of
the run record (peer, bytes, duration, sha256, complete or why not)."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.files.depot import Depot
from bench.files.ftp import USER, FtpFileServer, ftps_available
from bench.files.http import DOWNLOAD_PREFIX, UPLOAD_PREFIX, HttpFileServer
from bench.files.model import (
    PROTOCOLS,
    Direction,
    FilesConfig,
    FileServiceError,
    Transfer,
    TransferFault,
)


class FileService:
    def __init__(self, root: Path, record: Any, config: FilesConfig) -> None:
        self.root = Path(root)
        self.record = record
        self.config = config
        self._servers: dict[str, HttpFileServer | FtpFileServer] = {}
        self._changed: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()
        self.depot = Depot(self.root, self._on_transfer)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, protocols: list[str] | tuple[str, ...]) -> dict[str, str]:
        """Start a server per protocol not yet running; returns {protocol: base URL}."""
        self.config.public_host  # noqa: B018 (raises now, not at the first URL, when unset)
        for protocol in protocols:
            if protocol not in PROTOCOLS:
                raise FileServiceError(f"file transfer protocol {protocol!r}: one of "
                                       + ", ".join(PROTOCOLS))
            if protocol not in self._servers:
                self._servers[protocol] = self._start_one(protocol)
                self.record.event("file", "server-started", protocol=protocol,
                                  url=self.base_url(protocol), listen=self.config.host)
        return {p: self.base_url(p) for p in self._servers}

    def _start_one(self, protocol: str) -> HttpFileServer | FtpFileServer:
        cfg = self.config
        needs_tls = protocol in ("HTTPS", "FTPS")
        if needs_tls and not (cfg.tls_cert and cfg.tls_key):
            raise FileServiceError(f"{protocol} needs a certificate and key ([files] tls_cert, "
                                   "tls_key, or the CSMS's)")
        try:
            if protocol.startswith("HTTP"):
                ctx = None
                if needs_tls:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                    ctx.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key))
                return HttpFileServer(self.depot, cfg.host, protocol, ctx)
            if protocol == "FTPS" and not ftps_available():
                raise FileServiceError("FTPS needs pyOpenSSL (pip install pyopenssl)")
            tls_files = (cfg.tls_cert, cfg.tls_key) if needs_tls else None
            return FtpFileServer(self.depot, self.root, cfg.host, protocol, tls_files,  # type: ignore[arg-type]
                                 cfg.advertise)
        except OSError as exc:
            raise FileServiceError(f"{protocol} file server cannot listen on {cfg.host}: "
                                   f"{exc}") from exc

    def stop(self) -> None:
        for protocol, server in list(self._servers.items()):
            server.stop()
            self.record.event("file", "server-stopped", protocol=protocol)
        self._servers.clear()

    # -- URLs -----------------------------------------------------------------------------------
    def base_url(self, protocol: str) -> str:
        server = self._servers.get(protocol)
        if server is None:
            raise FileServiceError(f"no {protocol} file server running (start it first)")
        host = self.config.public_host
        host = f"[{host}]" if ":" in host else host
        scheme = protocol.lower()
        if isinstance(server, FtpFileServer):
            return f"{scheme}://{USER}:{quote(server.password, safe='')}@{host}:{server.port}"
        return f"{scheme}://{host}:{server.port}"

    def publish(self, name: str, data: bytes) -> dict[str, str]:
        """Serve `data` as `name`; its URL for every running protocol."""
        self.depot.publish(name, data)
        return {protocol: self.file_url(protocol, name) for protocol in self._servers}

    def file_url(self, protocol: str, name: str) -> str:
        """Where `name` is (or would be) served over `protocol`; a name never published makes
        a download that must fail."""
        ftp = isinstance(self._servers.get(protocol), FtpFileServer)
        return self.base_url(protocol) + (f"/served/{name}" if ftp else f"{DOWNLOAD_PREFIX}{name}")

    def upload_location(self, protocol: str) -> str:
        """The directory URL a station uploads into (GetDiagnostics / GetLog location)."""
        server = self._servers.get(protocol)
        path = "/received/" if isinstance(server, FtpFileServer) else f"{UPLOAD_PREFIX}/"
        return self.base_url(protocol) + path

    def arm(self, protocol: str, fault: TransferFault | None) -> None:
        """Break the next transfer(s) over `protocol` (refuse it, or drop it half-way)."""
        self.depot.arm(protocol, fault)
        self.record.event("file", "fault-armed", protocol=protocol,
                          fault=None if fault is None else {"mode": str(fault.mode),
                                                            "after_bytes": fault.after_bytes,
                                                            "times": fault.times})

    # -- transfers ------------------------------------------------------------------------------
    def _on_transfer(self, transfer: Transfer) -> None:
        self.record.event("file", "transfer", mono_ns=transfer.ended_mono_ns,
                          **transfer.as_event())
        with self._lock:
            waiters = list(self._changed)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def transfers(self, direction: Direction | None = None,
                  after_ns: int = 0) -> list[Transfer]:
        return [t for t in list(self.depot.transfers) if t.ended_mono_ns >= after_ns
                and (direction is None or t.direction == direction)]

    async def wait_transfer(self, direction: Direction, *, after_ns: int, within_s: float,
                            complete: bool | None = None) -> Transfer:
        """The first transfer of `direction` that ended after `after_ns` (complete or not, as
        asked); FileServiceError after `within_s` naming what the servers saw meanwhile."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._changed.append(entry)
        deadline = time.monotonic() + within_s
        try:
            while True:
                for t in self.transfers(direction, after_ns):
                    if complete is None or t.complete == complete:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = self.transfers(None, after_ns)
                    raise FileServiceError(
                        f"waited {within_s:g} s for a{' complete' if complete else 'n'} "
                        f"{direction} on the bench's file servers "
                        f"({', '.join(self._servers) or 'none running'}); saw "
                        + ("; ".join(f"{t.protocol} {t.direction} {t.name!r} {t.bytes} B "
                                     f"{'complete' if t.complete else t.detail}" for t in seen)
                           or "no transfer"))
                event.clear()
                try:
                    async with asyncio.timeout(left):
                        await event.wait()
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._changed.remove(entry)

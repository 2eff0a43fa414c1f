"""Helpers of the CSMS tests (no tests here): a running endpoint and real websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.csms import Csms, CsmsSettings
from bench.record import RunRecord

REPO = Path(__file__).resolve().parents[1]
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "DC-50"}


@contextlib.asynccontextmanager
async def running_csms(tmp_path: Path, **settings: Any) -> AsyncIterator[Csms]:
    settings.setdefault("port", 0)
    settings.setdefault("any_station", True)
    record = RunRecord.create(tmp_path / "runs", "csms-test")
    csms = Csms(CsmsSettings(**settings), record)
    await csms.start()
    try:
        yield csms
    finally:
        await csms.stop()
        record.close()


def station_connect(csms: Csms, station_id: str = "CP1", **kw: Any):
    kw.setdefault("subprotocols", ["ocpp1.6"])
    kw.setdefault("proxy", None)
    kw.setdefault("open_timeout", 5)
    return connect(f"{csms.url}/{station_id}", **kw)


async def exchange(ws: ClientConnection, frame: Any,
                   timeout: float = 5) -> list[Any]:  # noqa: ASYNC109
    """Send a frame (a list is JSON-encoded, a str/bytes sent as is) and return the answer."""
    await ws.send(json.dumps(frame) if isinstance(frame, list) else frame)
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def boot(ws: ClientConnection, msg_id: str = "boot-1") -> list[Any]:
    return await exchange(ws, [2, msg_id, "BootNotification", BOOT])


def events(csms: Csms, kind: str) -> list[dict[str, Any]]:
    """Event lines of the running record (files are flushed per line)."""
    path = csms.record.path / "events.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["kind"] == kind]


def frames(csms: Csms) -> list[dict[str, Any]]:
    path = csms.record.path / "frames.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def findings(csms: Csms) -> list[str]:
    return [e["name"] for e in events(csms, "finding")]


async def eventually(predicate: Any, timeout: float = 3.0,  # noqa: ASYNC109
                     what: str = "condition") -> None:
    """Poll a predicate (the record is written after the answer leaves the socket)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def bench_serve(runs_dir: Path,
                      *extra: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.cli", "serve", "--listen", "127.0.0.1:0",
        "--runs-dir", str(runs_dir), *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = None
        seen = []
        async with asyncio.timeout(20):
            while url is None:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    err = (await proc.stderr.read()).decode()
                    raise AssertionError(f"bench serve ended early: {seen} {err}")
                seen.append(line)
                m = re.search(r"(wss?://\S+?)/<chargePointId>", line)
                url = m.group(1) if m else None
        yield proc, url
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


class ThreadStation:
    """A station on a blocking socket, for a thread of its own: it can send while the bench's
    event loop is blocked on purpose. Reads carry the kernel's receive stamp."""

    def __init__(self, sock: Any) -> None:
        from bench.csms.stamps import KernelStamps

        self.sock = sock
        self.stamps = KernelStamps(sock)
        self._buffer = b""

    @classmethod
    def open(cls, port: int, path: str, headers: dict[str, str] | None = None,
             ssl_context: Any = None) -> ThreadStation:
        import socket

        from bench.csms.rawws import upgrade_request

        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname="127.0.0.1")
        station = cls(sock)
        sock.sendall(upgrade_request("127.0.0.1", port, path, headers))
        head = station._read_until(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"upgrade refused: {head[:200]!r}")
        return station

    def _read(self) -> int:
        if getattr(self.sock, "context", None) is not None:  # TLS: the stamp is not ours
            data, stamp = self.sock.recv(65536), 0
        else:
            data, stamp = self.stamps.recv(self.sock, 65536)
        if not data:
            raise ConnectionError("the bench closed the connection")
        self._buffer += data
        return stamp

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._read()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def send_text(self, text: str) -> int:
        """Send one text frame; the monotonic stamp right before the send syscall."""
        import time

        from bench.csms.rawws import TEXT, encode_frame

        frame = encode_frame(TEXT, text.encode())
        stamp = time.monotonic_ns()
        self.sock.sendall(frame)
        return stamp

    def recv_text(self) -> tuple[str, int]:
        """The next text frame and the kernel stamp of the read that completed it."""
        stamp = 0
        while True:
            if len(self._buffer) >= 2:
                n = self._buffer[1] & 0x7F
                start = 2 if n < 126 else 4 if n == 126 else 10
                if len(self._buffer) >= start:
                    if n == 126:
                        n = int.from_bytes(self._buffer[2:4], "big")
                    elif n == 127:
                        n = int.from_bytes(self._buffer[2:10], "big")
                    if len(self._buffer) >= start + n:
                        opcode = self._buffer[0] & 0x0F
                        payload = self._buffer[start:start + n]
                        self._buffer = self._buffer[start + n:]
                        if opcode == 0x1:
                            return payload.decode(), stamp
                        continue  # pings and the like
            stamp = self._read()

    def close(self) -> None:
        self.sock.close()

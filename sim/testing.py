"""Helpers for tests of the simulated rig: a minimal vpcd card and the `bench sim` process.

    async with VpcdCard("04A1B2C3D4E5F6", port=endpoints["vpcd"]["port"]):
        ...                                   # the card lies on the station's reader

    with SimRigProcess(["--csms-url", url]) as rig:   # `bench sim --ephemeral` subprocess
        rig.endpoints["modbus"]["port"]

    async with running_sim_rig(csms.url) as rig:      # the same from async code
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

# PC/SC part 3 pseudo-ATR a contactless reader reports for a MIFARE Classic 1K card
MIFARE_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
GET_UID = bytes.fromhex("FFCA000000")
SW_OK = b"\x90\x00"
SW_NOT_SUPPORTED = b"\x6a\x81"


class VpcdCard:
    """A virtual contactless card for vpcd: present while connected, answers ATR and FF CA.

    vpcd frames every message with a 2-byte big-endian length; a 1-byte payload is a control
    code (0 off, 1 on, 2 reset, 4 ATR?), anything longer is an APDU.
    """

    def __init__(self, uid_hex: str, port: int, host: str = "127.0.0.1") -> None:
        self.uid = bytes.fromhex(uid_hex)
        self.host, self.port = host, port
        self.apdus: list[bytes] = []
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def insert(self, within: float = 5.0) -> None:
        """Connect (retrying: vpcd re-arms its port a while after the previous card left)."""
        deadline = time.monotonic() + within
        last: OSError | None = None
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                break
            except OSError as exc:
                last = exc
                await asyncio.sleep(0.05)
        else:
            raise TimeoutError(f"vpcd card: no connection to vpcd at {self.host}:{self.port} "
                               f"within {within:.1f} s; last error: {last}")
        self._writer = writer
        self._task = asyncio.create_task(self._serve(reader, writer))

    async def remove(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def __aenter__(self) -> VpcdCard:
        await self.insert()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.remove()

    def answer(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            return MIFARE_ATR if payload[0] == 0x04 else None
        self.apdus.append(payload)
        if payload[:2] == GET_UID[:2]:
            return self.uid + SW_OK
        return SW_NOT_SUPPORTED

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                if sock is not None:  # vpcd writes length and payload separately: ack at once
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                (length,) = struct.unpack(">H", await reader.readexactly(2))
                payload = await reader.readexactly(length)
                reply = self.answer(payload)
                if reply is not None:
                    writer.write(struct.pack(">H", len(reply)) + reply)
                    await writer.drain()


class SimRigError(RuntimeError):
    """`bench sim` did not come up; the message carries what it printed."""


class SimRigProcess:
    """`bench sim --ephemeral` as a subprocess, ready when it prints `READY {json}`.

    Always cleaned up: SIGTERM, wait, then SIGKILL (`close()`, or the context manager).
    """

    def __init__(self, args: list[str] | None = None, *, ready_timeout: float = 20.0,
                 env: dict[str, str] | None = None, cwd: str | Path | None = None,
                 prefix: list[str] | None = None) -> None:
        self.args = list(args or [])
        self.prefix = list(prefix or [])  # e.g. `ip netns exec NS`: it execs, the pid stays
        self.ready_timeout = ready_timeout
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.endpoints: dict = {}
        self.output: list[str] = []
        self._stderr_file = tempfile.TemporaryFile(mode="w+")
        self._reader: threading.Thread | None = None
        self.stderr_text = ""

    def start(self) -> dict:
        # --parent-pid: a test process killed outright (a timeout) leaves no rig running
        cmd = [*self.prefix, sys.executable, "-m", "bench.cli", "sim", "--ephemeral",
               "--parent-pid", str(os.getpid()), *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr_file,
                                     stdin=subprocess.DEVNULL, text=True, env=env, cwd=self.cwd)
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, args=(lines,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.ready_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimRigError(f"bench sim not READY after {self.ready_timeout:.0f} s; "
                                  f"{self._said()}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(5)
                raise SimRigError(f"bench sim exited ({self.proc.returncode}) before READY; "
                                  f"{self._said()}")
            if line.startswith("READY "):
                self.endpoints = json.loads(line[len("READY "):])
                return self.endpoints

    def _read_stdout(self, lines: queue.Queue[str | None]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))
            lines.put(line)
        lines.put(None)

    def _said(self) -> str:
        self._stderr_file.seek(0)
        err = self._stderr_file.read()[-3000:]
        return f"stdout: {self.output[-10:]}; stderr: {err!r}"

    def stderr(self) -> str:
        self._stderr_file.seek(0)
        return self._stderr_file.read()

    def close(self, timeout: float = 10.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        finally:
            if self._reader is not None:
                self._reader.join(5)
            if proc.stdout is not None:
                proc.stdout.close()
            self.stderr_text = self.stderr()
            self._stderr_file.close()
        return proc.returncode

    def __enter__(self) -> SimRigProcess:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.asynccontextmanager
async def running_sim_rig(csms_url: str | None = None, *args: str,
                          ready_timeout: float = 20.0,
                          cwd: str | Path | None = None) -> AsyncIterator[SimRigProcess]:
    """`bench sim --ephemeral [--csms-url URL] ARGS` for async tests whose event loop must keep
    serving (the CSMS) while the rig starts and stops. Yields the process once READY; on
    exit SIGTERM, wait, SIGKILL. Raises SimRigError if it does not come up, or exits != 0."""
    rig = SimRigProcess([*(["--csms-url", csms_url] if csms_url else []), *args],
                        ready_timeout=ready_timeout, cwd=cwd)
    try:
        await asyncio.to_thread(rig.start)
        yield rig
    finally:
        code = await asyncio.to_thread(rig.close)
    if code not in (0, None):
        raise SimRigError(f"bench sim exited with {code}; stderr: {rig.stderr_text[-2000:]!r}")

"""A websocket client for the measuring stations of the benchmarks (not a benchmark itself):
websockets' sans-I/O ClientProtocol over a plain socket read with kernel receive stamps
(bench.csms.stamps), so a station's "it arrived" is the kernel's, not its event loop's.

    client = await StampedClient.connect(url, on_text)   # on_text(text, arrival_ns, read_ns)
    send_ns = client.send_text(text)                      # stamp right before the send syscall
    await client.close()

Plain ws:// only: the instruments run on loopback.
"""

from __future__ import annotations

import asyncio
import select
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import OPEN
from websockets.uri import parse_uri

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.csms.stamps import KernelStamps

_ns = time.monotonic_ns
READ_SIZE = 1 << 16
SEND_DEADLINE_S = 5.0


class StampedClient:
    def __init__(self, sock: socket.socket, protocol: ClientProtocol,
                 on_text: Callable[[str, int, int], None]) -> None:
        self.sock = sock
        self.protocol = protocol
        self.on_text = on_text
        self.stamps = KernelStamps(sock)
        self.opened: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._parts: list[bytes] = []

    @classmethod
    async def connect(cls, url: str, on_text: Callable[[str, int, int], None],
                      subprotocol: str = "ocpp1.6", timeout: float = 30.0  # noqa: ASYNC109
                      ) -> StampedClient:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(
            None, lambda: socket.create_connection((uri.host, uri.port), timeout=timeout))
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(sock, ClientProtocol(uri, subprotocols=[subprotocol]), on_text)
        client.protocol.send_request(client.protocol.connect())
        client._flush()
        loop.add_reader(sock.fileno(), client._readable)
        async with asyncio.timeout(timeout):
            response = await client.opened
        if response.status_code != 101:
            raise ConnectionError(f"{url}: the server answered HTTP {response.status_code}")
        return client

    def _readable(self) -> None:
        try:
            data, arrival_ns = self.stamps.recv(self.sock, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._lost(e)
            return
        read_ns = _ns()
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    self.opened.set_result(event)
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self._parts.append(event.data)
                if event.fin:
                    text, self._parts = b"".join(self._parts).decode(), []
                    self.on_text(text, arrival_ns, read_ns)
        self._flush()
        if not data:
            self._lost(None)

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self._send_all(chunk)
            else:
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def _send_all(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + SEND_DEADLINE_S
        while view:
            try:
                view = view[self.sock.send(view):]
            except (BlockingIOError, InterruptedError):
                if time.monotonic() > deadline:
                    raise TimeoutError("the CSMS did not read for "
                                       f"{SEND_DEADLINE_S:g} s") from None
                select.select([], [self.sock], [], 0.1)

    def send_text(self, text: str) -> int:
        """Send a text message; returns the monotonic stamp taken right before the syscall."""
        if self.protocol.state is not OPEN:
            raise ConnectionError("the websocket is not open")
        self.protocol.send_text(text.encode())
        chunks = self.protocol.data_to_send()
        stamp = _ns()
        for chunk in chunks:
            self._send_all(chunk)
        return stamp

    def _lost(self, exc: BaseException | None) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        if self.closed.done():
            return
        if self.protocol.state is OPEN:
            self.protocol.send_close(1000)
            self._flush()
        try:
            async with asyncio.timeout(timeout):
                await self.closed
        except TimeoutError:
            self._lost(TimeoutError("close timeout"))

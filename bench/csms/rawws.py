"""A raw websocket client for the endpoint's own tests and benchmarks: every byte is chosen.

A client library refuses to send what an attacker sends (invalid UTF-8 in a text frame, a
missing Sec-WebSocket-Key, a 10 kB header, half a request). This one writes the opening
request as given and frames each message itself (RFC 6455 §5.2), masked as a client must,
over a plain or TLS socket, so the tests prove the endpoint at the wire, whatever serves it.

    async with await RawWs.open("127.0.0.1", port, "/ocpp/CP1") as ws:
        ws.write_text('[2,"1","Heartbeat",{}]'); await ws.drain()
        opcode, payload = await ws.recv(timeout=5)
    status, headers, body = await http_exchange("127.0.0.1", port, b"GET / HTTP/1.1\r\n\r\n")
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import struct
from typing import Any

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class HandshakeRefused(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int | None, body: bytes) -> None:
        super().__init__(f"upgrade answered {status}: {body[:200]!r}")
        self.status = status
        self.body = body


def upgrade_request(host: str, port: int, path: str, headers: dict[str, str] | None = None,
                    subprotocol: str | None = "ocpp1.6") -> bytes:
    """A well-formed RFC 6455 upgrade request (the path is sent exactly as given)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode()]
    if subprotocol:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response_head(reader: asyncio.StreamReader
                              ) -> tuple[int | None, dict[str, str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None, {}
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def http_exchange(host: str, port: int, request: bytes,
                        ssl_context: ssl.SSLContext | None = None,
                        timeout: float = 5.0,  # noqa: ASYNC109
                        ) -> tuple[int | None, dict[str, str], bytes]:
    """Send raw bytes, return (status or None, headers, body) of what comes back."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl_context, server_hostname=host if ssl_context else None)
        try:
            writer.write(request)
            await writer.drain()
            status, headers = await _read_response_head(reader)
            body = b""
            length = int(headers.get("content-length", "0") or 0)
            if status is not None and length:
                body = await reader.readexactly(length)
            return status, headers, body
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One client frame: FIN/opcode, masked length, mask key, masked payload."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class RawWs:
    """An open websocket connection driven frame by frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 response_headers: dict[str, str]) -> None:
        self.reader = reader
        self.writer = writer
        self.response_headers = response_headers
        self.close_code: int | None = None

    @classmethod
    async def open(cls, host: str, port: int, path: str, headers: dict[str, str] | None = None,
                   ssl_context: ssl.SSLContext | None = None, subprotocol: str | None = "ocpp1.6",
                   timeout: float = 5.0) -> RawWs:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=ssl_context, server_hostname=host if ssl_context else None,
                limit=1 << 22)
            writer.write(upgrade_request(host, port, path, headers, subprotocol))
            await writer.drain()
            status, response_headers = await _read_response_head(reader)
            if status != 101:
                length = int(response_headers.get("content-length", "0") or 0)
                body = await reader.read(length) if length else b""
                writer.close()
                raise HandshakeRefused(status, body)
        return cls(reader, writer, response_headers)

    async def __aenter__(self) -> RawWs:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- sending ------------------------------------------------------------------------------
    def write_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        self.writer.write(encode_frame(opcode, payload, fin))

    def write_text(self, text: str | bytes, fragments: int = 1) -> None:
        """A text message; bytes are sent as they are (also when they are not UTF-8)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        if fragments <= 1 or len(data) < fragments:
            self.write_frame(TEXT, data)
            return
        step = -(-len(data) // fragments)
        pieces = [data[i:i + step] for i in range(0, len(data), step)]
        for i, piece in enumerate(pieces):
            self.write_frame(TEXT if i == 0 else CONTINUATION, piece, fin=i == len(pieces) - 1)

    def write_binary(self, data: bytes) -> None:
        self.write_frame(BINARY, data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def send_text(self, text: str | bytes) -> None:
        self.write_text(text)
        await self.drain()

    # -- receiving ----------------------------------------------------------------------------
    async def recv(self, timeout: float = 5.0) -> tuple[int, bytes]:  # noqa: ASYNC109
        """The next text, binary or close frame (pings are answered on the way)."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self._read_frame()
                if opcode == PING:
                    self.write_frame(PONG, payload)
                    continue
                if opcode == PONG:
                    continue
                if opcode == CLOSE:
                    self.close_code = (struct.unpack("!H", payload[:2])[0]
                                       if len(payload) >= 2 else None)
                return opcode, payload

    async def recv_text(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        opcode, payload = await self.recv(timeout)
        if opcode != TEXT:
            raise ConnectionError(f"expected a text frame, got opcode {opcode} "
                                  f"(close code {self.close_code})")
        return payload.decode("utf-8")

    async def _read_frame(self) -> tuple[int, bytes]:
        b0, b1 = await self.reader.readexactly(2)
        opcode = b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        key = await self.reader.readexactly(4) if b1 & 0x80 else b""
        payload = await self.reader.readexactly(n)
        if key:
            payload = _mask(payload, key)
        fin = bool(b0 & 0x80)
        while not fin and opcode in (TEXT, BINARY):  # server fragments: join them
            b0, b1 = await self.reader.readexactly(2)
            fin = bool(b0 & 0x80)
            m = b1 & 0x7F
            if m == 126:
                (m,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif m == 127:
                (m,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload += await self.reader.readexactly(m)
        return opcode, payload

    async def close(self, code: int = 1000) -> None:
        if self.writer.is_closing():
            return
        try:
            self.write_frame(CLOSE, struct.pack("!H", code))
            await self.drain()
            async with asyncio.timeout(2):
                while (await self.recv(2))[0] != CLOSE:
                    pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass

"""Expected-traffic SCPI server for driver tests (pymeasure's expected_traffic, over a socket).

    async with ScriptedScpiServer([("*IDN?", "ACME,X,1,2"), ("INT:STAR", None)]) as srv:
        meter = ScpiPowerMeter("m", srv.resource, ...)
        ...
    srv.assert_done()

Each line the driver sends must be the next expected command, exactly; a query gets its
scripted reply. A wrong or extra command is recorded and answered with nothing (the driver
then times out), so the test fails with the exact difference.
"""

from __future__ import annotations

import asyncio
import contextlib


class ScriptedScpiServer:
    def __init__(self, script: list[tuple[str, str | None]], host: str = "127.0.0.1") -> None:
        self.script = list(script)
        self.host = host
        self.port = 0
        self.received: list[str] = []
        self.mismatches: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def resource(self) -> str:
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    async def __aenter__(self) -> ScriptedScpiServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while line := await reader.readline():
                command = line.decode("ascii", "replace").rstrip("\r\n")
                self.received.append(command)
                index = len(self.received) - 1
                if index >= len(self.script):
                    self.mismatches.append(f"#{index}: unexpected extra command {command!r}")
                    continue
                expected, reply = self.script[index]
                if command != expected:
                    self.mismatches.append(f"#{index}: expected {expected!r}, got {command!r}")
                    continue
                if reply is not None:
                    writer.write((reply + "\n").encode("ascii"))
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    def assert_done(self) -> None:
        problems = list(self.mismatches)
        if len(self.received) < len(self.script):
            missing = [c for c, _ in self.script[len(self.received):]]
            problems.append(f"commands never sent: {missing}")
        assert not problems, "SCPI traffic differs: " + "; ".join(problems)

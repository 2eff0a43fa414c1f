"""The power meter twin: an SCPI server on a TCP socket, generic dialect (docs/contracts.md).

pyvisa-py opens it as `TCPIP::127.0.0.1::PORT::SOCKET` with `\\n` termination. Readings come
from one connector of the model with a bounded relative noise; the integrator counts the
model's exact energy with a small gain error inside the same bound, so the reference meter
and the station's register agree within the configured noise, as a calibrated meter would.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from sim.model import RigModel
from sim.twins.errors import TwinServerError

log = logging.getLogger(__name__)

# long form -> short form of every mnemonic the twin knows (SCPI: either form, any case)
_MNEMONICS = {
    "MEASURE": "MEAS", "VOLTAGE": "VOLT", "CURRENT": "CURR", "POWER": "POW",
    "INTEGRATE": "INT", "RESET": "RES", "START": "STAR", "STOP": "STOP", "STATE": "STAT",
    "ENERGY": "ENER", "SYSTEM": "SYST", "ERROR": "ERR", "NEXT": "NEXT",
}
_SHORTS = set(_MNEMONICS.values())
_ERROR_QUEUE_MAX = 16


@dataclass
class MeterFaults:
    """Faults of the meter twin itself, for the driver's fault tests."""

    delay_s: float = 0.0  # answer queries late
    no_answer: bool = False  # read commands, answer nothing


class MeterTwin:
    """SCPI power meter on one connector of the model."""

    def __init__(self, model: RigModel, connector: int = 1, noise_pct: float = 0.0,
                 serial: str = "SIM0001", host: str = "127.0.0.1", port: int = 0,
                 seed: int | None = None) -> None:
        self.model = model
        self.connector = model.connector(connector)
        self.noise_pct = noise_pct
        self.serial = serial
        self.host = host
        self.port = port
        self.faults = MeterFaults()
        self.errors: list[tuple[int, str]] = []
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.StreamWriter, asyncio.Task] = {}
        self._reset_integrator()

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            hint = " (port in use?)" if exc.errno == 98 else ""
            raise TwinServerError(f"meter twin: cannot listen on {self.host}:{self.port}: "
                                  f"{exc.strerror or exc}{hint}") from exc
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def resource(self) -> str:
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for writer in list(self._clients):
            writer.close()
        await asyncio.gather(*self._clients.values(), return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = asyncio.current_task()
        assert task is not None
        self._clients[writer] = task
        try:
            while line := await reader.readline():
                replies = self.handle_line(line.decode("ascii", "replace"))
                if not replies:
                    continue
                if self.faults.no_answer:
                    continue
                if self.faults.delay_s > 0:
                    await asyncio.sleep(self.faults.delay_s)
                writer.write(("".join(r + "\n" for r in replies)).encode("ascii"))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.pop(writer, None)
            writer.close()

    # --- SCPI -----------------------------------------------------------------------------

    def handle_line(self, line: str) -> list[str]:
        """Execute one line (commands separated by `;`); return the replies to send."""
        replies: list[str] = []
        for command in line.strip().split(";"):
            command = command.strip()
            if not command:
                continue
            reply = self.execute(command)
            if reply is not None:
                replies.append(reply)
        return replies

    def execute(self, command: str) -> str | None:
        head, _, arg = command.partition(" ")
        key = self._normalise(head)
        if key is None or arg.strip():
            self._push_error(-113, "Undefined header")
            return None
        handler = self._COMMANDS.get(key)
        if handler is None:
            self._push_error(-113, "Undefined header")
            return None
        return handler(self)

    @staticmethod
    def _normalise(head: str) -> str | None:
        """`:MEASure:VOLTage?` -> `MEAS:VOLT?`; None when a mnemonic is unknown."""
        head = head.upper().lstrip(":")
        if head.startswith("*"):
            return head
        query = head.endswith("?")
        parts = head.rstrip("?").split(":")
        out = []
        for part in parts:
            if part in _SHORTS:
                out.append(part)
            elif part in _MNEMONICS:
                out.append(_MNEMONICS[part])
            else:
                return None
        return ":".join(out) + ("?" if query else "")

    def _push_error(self, code: int, text: str) -> None:
        if len(self.errors) >= _ERROR_QUEUE_MAX:
            self.errors[-1] = (-350, "Queue overflow")
            return
        self.errors.append((code, text))

    # --- readings -------------------------------------------------------------------------

    def _noisy(self, value: float) -> float:
        if not self.noise_pct or not value:
            return value
        return value * (1.0 + self._random.uniform(-1.0, 1.0) * self.noise_pct / 100.0)

    def voltage(self) -> float:
        return self._noisy(self.connector.voltage_v)

    def current(self) -> float:
        return self._noisy(self.connector.current_a)

    def power(self) -> float:
        return self._noisy(self.connector.power_w)

    # --- integrator -----------------------------------------------------------------------

    def _reset_integrator(self) -> None:
        self.int_state = "RESET"
        self._counted_wh = 0.0
        self._run_start_wh = 0.0
        # a calibrated meter's small gain error, fixed until the next reset
        self._gain = 1.0 + self._random.uniform(-1.0, 1.0) * self.noise_pct / 100.0

    def _model_energy(self) -> float:
        self.model.tick()
        return self.connector.energy_wh

    def energy_wh(self) -> float:
        counted = self._counted_wh
        if self.int_state == "RUN":
            counted += self._model_energy() - self._run_start_wh
        return counted * self._gain

    def int_start(self) -> None:
        if self.int_state != "RUN":
            self._run_start_wh = self._model_energy()
            self.int_state = "RUN"

    def int_stop(self) -> None:
        if self.int_state == "RUN":
            self._counted_wh += self._model_energy() - self._run_start_wh
            self.int_state = "STOP"

    # --- command table --------------------------------------------------------------------

    def _idn(self) -> str:
        return f"BENCHSIM,PM-SIM,{self.serial},1.0"

    def _rst(self) -> None:
        self._reset_integrator()

    def _cls(self) -> None:
        self.errors.clear()

    def _err(self) -> str:
        if not self.errors:
            return '0,"No error"'
        code, text = self.errors.pop(0)
        return f'{code},"{text}"'

    def _res(self) -> None:
        self._reset_integrator()

    _COMMANDS: ClassVar[dict[str, Callable[[MeterTwin], str | None]]] = {
        "*IDN?": _idn,
        "*RST": _rst,
        "*CLS": _cls,
        "*OPC?": lambda self: "1",
        "SYST:ERR?": _err,
        "SYST:ERR:NEXT?": _err,
        "MEAS:VOLT?": lambda self: f"{self.voltage():.6E}",
        "MEAS:CURR?": lambda self: f"{self.current():.6E}",
        "MEAS:POW?": lambda self: f"{self.power():.6E}",
        "INT:RES": _res,
        "INT:STAR": lambda self: self.int_start(),
        "INT:STOP": lambda self: self.int_stop(),
        "INT:STAT?": lambda self: self.int_state,
        "INT:ENER?": lambda self: f"{self.energy_wh():.6E}",
    }

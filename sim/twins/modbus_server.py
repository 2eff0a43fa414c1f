"""The twins' Modbus TCP server. All pymodbus datastore code of the bench lives in this module.

pymodbus 3.16 routes every request through `context.async_getValues/async_setValues`. The
context here hands each request to the twin device of its device id (`ev.ModbusDevice`), turns
a `ModbusReject` into a Modbus exception response, and applies the injected faults of the
server (delay, no answer, forced exception code) for the driver's fault tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer

from sim.twins.errors import TwinServerError
from sim.twins.ev import ILLEGAL_FUNCTION, ModbusDevice, ModbusReject

log = logging.getLogger(__name__)

_COIL_CODES = frozenset({1, 5, 15})
_HOLDING_CODES = frozenset({3, 6, 16, 22, 23})


@dataclass
class ModbusFaults:
    """Faults of the twin server itself, applied to `device_ids` (None = every device)."""

    delay_s: float = 0.0  # answer late
    no_answer: bool = False  # swallow the request: the client times out
    exception_code: int | None = None  # answer every request with this exception code
    device_ids: set[int] | None = None

    def applies(self, device_id: int) -> bool:
        return self.device_ids is None or device_id in self.device_ids


class _TwinContext(ModbusServerContext):
    """Routes requests to twin devices. Skips the base __init__: it would build a deprecated
    simulator datastore (and log a warning) that this server does not use."""

    def __init__(self, devices: dict[int, ModbusDevice], faults: ModbusFaults) -> None:
        self.devices = devices
        self.faults = faults
        self.simdevices = []
        self.old_simulator = True  # pymodbus: "call the context's async_* methods directly"
        self.requests = 0

    def device_ids(self) -> list[int]:
        return list(self.devices)

    async def _enter(self, device_id: int) -> ModbusDevice | ExcCodes:
        self.requests += 1
        if self.faults.applies(device_id):
            if self.faults.delay_s > 0:
                await asyncio.sleep(self.faults.delay_s)
            if self.faults.no_answer:
                raise NoSuchIdException(f"fault injection: device {device_id} does not answer")
            if self.faults.exception_code is not None:
                return ExcCodes(self.faults.exception_code)
        device = self.devices.get(device_id)
        if device is None:
            return ExcCodes.GATEWAY_NO_RESPONSE
        return device

    async def async_getValues(self, device_id: int, func_code: int, address: int,
                              count: int = 1) -> list[int] | list[bool] | ExcCodes:
        device = await self._enter(device_id)
        if isinstance(device, ExcCodes):
            return device
        try:
            if func_code in _COIL_CODES:
                return device.read_coils(address, count)
            if func_code in _HOLDING_CODES:
                return device.read_holding(address, count)
            raise ModbusReject(ILLEGAL_FUNCTION, f"function code {func_code} not served")
        except ModbusReject as reject:
            log.debug("device %s read %s+%s refused: %s", device_id, address, count, reject)
            return ExcCodes(reject.code)

    async def async_setValues(self, device_id: int, func_code: int, address: int,
                              values: Sequence[int] | Sequence[bool]) -> ExcCodes | None:
        device = await self._enter(device_id)
        if isinstance(device, ExcCodes):
            return device
        try:
            if func_code in _COIL_CODES:
                device.write_coils(address, [bool(v) for v in values])
            elif func_code in _HOLDING_CODES:
                device.write_holding(address, [int(v) for v in values])
            else:
                raise ModbusReject(ILLEGAL_FUNCTION, f"function code {func_code} not served")
        except ModbusReject as reject:
            log.debug("device %s write %s=%s refused: %s", device_id, address, values, reject)
            return ExcCodes(reject.code)
        return None


class ModbusTwinServer:
    """Modbus TCP server for the twin devices: `{device_id: device}`."""

    def __init__(self, devices: dict[int, ModbusDevice], host: str = "127.0.0.1",
                 port: int = 0,
                 trace_pdu: Callable[[bool, ModbusPDU], ModbusPDU] | None = None) -> None:
        self.faults = ModbusFaults()
        self.host = host
        self.port = port
        self._context = _TwinContext(devices, self.faults)
        self._trace_pdu = trace_pdu
        self._server: ModbusTcpServer | None = None

    @property
    def devices(self) -> dict[int, ModbusDevice]:
        return self._context.devices

    @property
    def requests(self) -> int:
        return self._context.requests

    async def start(self) -> None:
        self._server = ModbusTcpServer(
            self._context, address=(self.host, self.port),
            # lets a NoSuchIdException (fault "no answer") end a request without a reply;
            # unknown device ids are answered by the context itself
            ignore_missing_devices=True, trace_pdu=self._trace_pdu,
        )
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError as exc:
            self._server = None
            cause = _bind_cause(self.host, self.port)
            raise TwinServerError(
                f"Modbus twin: cannot listen on {self.host}:{self.port}: {cause}"
            ) from exc
        transport = self._server.transport
        self.port = transport.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            with contextlib.suppress(Exception):
                await server.shutdown()


def _bind_cause(host: str, port: int) -> str:
    """Why binding fails (pymodbus only says that it did)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return f"{exc.strerror or exc} (port in use?)" if exc.errno == 98 else str(exc)
    return "pymodbus could not listen (address free when checked again)"

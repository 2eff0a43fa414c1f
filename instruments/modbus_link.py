"""A Modbus TCP link to one device id: deadlines, bounded retries, errors naming the register.

pymodbus' own retries are off (retries=0) so that each retry here is bounded and explicit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from instruments.deadline import within_deadline
from instruments.errors import InstrumentError

log = logging.getLogger(__name__)

EXCEPTION_NAMES = {
    1: "ILLEGAL FUNCTION", 2: "ILLEGAL DATA ADDRESS", 3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE", 5: "ACKNOWLEDGE", 6: "SERVER DEVICE BUSY",
    10: "GATEWAY PATH UNAVAILABLE", 11: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}


class ModbusLink:
    def __init__(self, instrument: str, host: str, port: int, device_id: int,
                 timeout_s: float = 1.0, retries: int = 2) -> None:
        self.instrument = instrument
        self.host, self.port, self.device_id = host, port, device_id
        self.timeout_s = timeout_s
        self.retries = retries
        self.address = f"{host}:{port} device {device_id}"
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()

    def error(self, message: str, register: str | None = None) -> InstrumentError:
        return InstrumentError(self.instrument, self.address, message, register)

    async def connect(self) -> None:
        if self._client is not None and self._client.connected:
            return
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s,
                                      retries=0, reconnect_delay=0.1, reconnect_delay_max=1.0)
        try:
            ok = await within_deadline(client.connect(), self.timeout_s + 1.0)
        except (TimeoutError, OSError, ModbusException) as exc:
            client.close()
            raise self.error(f"cannot connect: {exc or type(exc).__name__}") from None
        if not ok:
            client.close()
            raise self.error("cannot connect: connection refused or no answer within "
                             f"{self.timeout_s:g} s")
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _call(self, what: str, register: str, fn_name: str, *args: Any,
                    **kwargs: Any) -> Any:
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if self._client is None or not self._client.connected:
                try:
                    self.close()
                    await self.connect()
                except InstrumentError as exc:
                    last = exc.detail
                    await asyncio.sleep(min(0.1 * (attempt + 1), 0.5))
                    continue
            assert self._client is not None
            fn = getattr(self._client, fn_name)
            try:
                async with self._lock:
                    rr = await within_deadline(
                        fn(*args, device_id=self.device_id, **kwargs), self.timeout_s + 0.5)
            except TimeoutError:
                last = f"no answer within {self.timeout_s:g} s"
                continue
            except ModbusException as exc:
                last = f"I/O error: {exc}"
                continue
            if rr.isError():
                code = getattr(rr, "exception_code", None)
                name = EXCEPTION_NAMES.get(code, "unknown") if code is not None else "error"
                # an exception reply is an answer: retrying will not change it
                raise self.error(f"{what}: Modbus exception {code} ({name})", register)
            return rr
        raise self.error(f"{what}: {last} (after {self.retries + 1} attempts)", register)

    async def read_registers(self, address: int, count: int, register: str) -> list[int]:
        rr = await self._call(f"read holding registers {address}..{address + count - 1}",
                              register, "read_holding_registers", address, count=count)
        if len(rr.registers) < count:
            raise self.error(f"short read: {len(rr.registers)} of {count} registers", register)
        return list(rr.registers[:count])

    async def write_registers(self, address: int, values: list[int], register: str) -> None:
        if len(values) == 1:
            await self._call(f"write register {address} = {values[0]}", register,
                             "write_register", address, values[0])
        else:
            await self._call(f"write registers {address} = {values}", register,
                             "write_registers", address, values)

    async def read_coils(self, address: int, count: int, register: str) -> list[bool]:
        rr = await self._call(f"read coils {address}..{address + count - 1}", register,
                              "read_coils", address, count=count)
        return [bool(b) for b in rr.bits[:count]]

    async def write_coil(self, address: int, value: bool, register: str) -> None:
        await self._call(f"write coil {address} = {int(value)}", register, "write_coil",
                         address, value)

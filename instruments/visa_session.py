"""A VISA message-based session run off the event loop.

pyvisa calls block: each one runs in a worker thread (asyncio.to_thread) with the VISA timeout
as its deadline, serialised by a lock so that a late answer cannot be read by the next query.
Every command and answer is kept in `traffic` (and passed to an optional listener).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pyvisa

from instruments.deadline import within_deadline
from instruments.errors import InstrumentError

_VISA_ERRORS: tuple[type[BaseException], ...] = (pyvisa.errors.Error, OSError, ValueError,
                                                  UnicodeDecodeError)


class VisaSession:
    def __init__(self, instrument: str, resource: str, visa_library: str = "@py",
                 timeout_s: float = 2.0,
                 listener: Callable[[str, str], None] | None = None) -> None:
        self.instrument = instrument
        self.resource = resource
        self.visa_library = visa_library
        self.timeout_s = timeout_s
        self.listener = listener
        self.traffic: list[tuple[str, str]] = []  # ("w"|"r", text)
        self._rm: Any = None
        self._inst: Any = None
        self._lock = threading.Lock()
        self._dead: str | None = None  # set once a call hung past its deadline

    def error(self, message: str) -> InstrumentError:
        return InstrumentError(self.instrument, self.resource, message)

    def _log(self, direction: str, text: str) -> None:
        self.traffic.append((direction, text))
        if self.listener is not None:
            self.listener(direction, text)

    async def _run(self, what: str, fn: Callable[[], Any]) -> Any:
        if self._dead:
            raise self.error(f"{what}: session unusable since an earlier call hung ({self._dead})")

        def locked() -> Any:
            with self._lock:
                return fn()

        try:
            # the VISA timeout bounds the I/O; the extra second only guards a stuck backend
            return await within_deadline(asyncio.to_thread(locked), self.timeout_s + 1.0)
        except TimeoutError:
            self._dead = what
            raise self.error(f"{what}: no answer within {self.timeout_s:g} s") from None
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise self.error(f"{what}: no answer within {self.timeout_s:g} s "
                                 "(VISA timeout)") from None
            raise self.error(f"{what}: VISA I/O error {exc.abbreviation}: "
                             f"{exc.description}") from None
        except _VISA_ERRORS as exc:
            raise self.error(f"{what}: {type(exc).__name__}: {exc}") from None

    async def open(self) -> None:
        def do_open() -> None:
            self._rm = pyvisa.ResourceManager(self.visa_library)
            inst = self._rm.open_resource(self.resource, open_timeout=int(self.timeout_s * 1000))
            inst.timeout = int(self.timeout_s * 1000)
            inst.read_termination = "\n"
            inst.write_termination = "\n"
            self._inst = inst

        try:
            await self._run(f"open ({self.visa_library})", do_open)
        except InstrumentError:
            await self.close()
            raise

    async def close(self) -> None:
        inst, rm = self._inst, self._rm
        self._inst = self._rm = None

        def do_close() -> None:
            for thing in (inst, rm):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:  # closing a dead session: nothing left to save
                        pass

        if self._dead:
            threading.Thread(target=do_close, daemon=True).start()
        else:
            await asyncio.to_thread(do_close)

    def _need_open(self, what: str) -> Any:
        if self._inst is None:
            raise self.error(f"{what}: session not open")
        return self._inst

    async def write(self, command: str) -> None:
        inst = self._need_open(command)

        def do() -> None:
            self._log("w", command)
            inst.write(command)

        await self._run(command, do)

    async def query(self, command: str) -> str:
        inst = self._need_open(command)

        def do() -> str:
            self._log("w", command)
            answer = inst.query(command).strip()
            self._log("r", answer)
            return answer

        return await self._run(command, do)

    async def drain_errors(self, command: str = "SYST:ERR?", limit: int = 32) -> list[str]:
        """Read the error queue until it says 0 (no error); return the errors seen."""
        errors: list[str] = []
        for _ in range(limit):
            answer = await self.query(command)
            code = answer.split(",", 1)[0].strip()
            try:
                number = int(code)
            except ValueError:
                # not '<code>,"text"': the device does not know this error query
                errors.append(f"{command} answered {answer!r}, not an error-queue entry")
                return errors
            if number == 0:
                return errors
            errors.append(answer)
        errors.append(f"(error queue not empty after {limit} reads)")
        return errors

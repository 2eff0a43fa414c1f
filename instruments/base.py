"""Lifecycle shared by every driver: activate (open, identify, check), use, deactivate."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from instruments.deadline import within_deadline
from instruments.errors import InstrumentError, InstrumentNotActive
from instruments.interfaces import Identity

T = TypeVar("T")


class Driver:
    """Base of all drivers. Subclasses implement _open/_identify/_close."""

    driver = "?"

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address
        self._active = False
        self.readonly = False
        self.identity: Identity | None = None

    @property
    def active(self) -> bool:
        return self._active

    def error(self, message: str, register: str | None = None) -> InstrumentError:
        return InstrumentError(self.name, self.address, message, register)

    def require_active(self) -> None:
        if not self._active:
            raise InstrumentNotActive(self.name, self.address,
                                      "driver not active: call activate() first")

    async def activate(self, readonly: bool = False) -> Identity:
        """Open the transport, identify the device and check it; idempotent.

        readonly=True (bench check): identify only, configure nothing on the device.
        """
        self.readonly = readonly
        if self._active and self.identity is not None:
            return self.identity
        try:
            await self._open()
            self.identity = await self._identify()
        except BaseException:
            await self._close_quietly()
            raise
        self._active = True
        return self.identity

    async def deactivate(self) -> None:
        self._active = False
        await self._close_quietly()

    async def _close_quietly(self) -> None:
        try:
            await within_deadline(self._close(), 5.0)
        except (TimeoutError, Exception):
            pass  # closing a dead transport must never hide the reason it died

    async def within(self, awaitable: Awaitable[T], seconds: float, what: str,
                     register: str | None = None) -> T:
        """Await with a deadline; on expiry say what we waited for."""
        try:
            return await within_deadline(awaitable, seconds)
        except TimeoutError:
            raise self.error(f"no answer within {seconds:g} s to {what}", register) from None

    def make_identity(self, identity: str, **details: object) -> Identity:
        return Identity(self.name, self.driver, self.address, identity, dict(details))

    # -- subclass hooks ----------------------------------------------------------------------
    async def _open(self) -> None:
        return None

    async def _identify(self) -> Identity:
        return self.make_identity(self.driver)

    async def _close(self) -> None:
        return None

"""Read the UID of a contactless card on a PC/SC reader (pyscard), to enrol the lab's cards."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from instruments.base import Driver
from instruments.deadline import within_deadline
from instruments.interfaces import CardReader, Identity
from instruments.registration import TIMEOUT_KEYS, BuildContext, DriverRegistration, Key

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]


class PcscCardReader(Driver):
    driver = "pcsc-reader"

    def __init__(self, name: str, reader: str | None = None, timeout_s: float = 5.0) -> None:
        socket_name = os.environ.get("PCSCLITE_CSOCK_NAME", "default pcscd socket")
        super().__init__(name, f"reader {reader or '(first)'} via {socket_name}")
        self.reader_pattern = reader
        self.timeout_s = timeout_s
        self.reader_name: str | None = None

    def _pick_reader(self) -> Any:
        from smartcard.System import readers

        found = readers()
        for r in found:
            if self.reader_pattern is None or self.reader_pattern in str(r):
                return r
        names = ", ".join(str(r) for r in found) or "none"
        raise self.error(f"no PC/SC reader matching {self.reader_pattern!r} (readers: {names})")

    async def _call(self, what: str, fn: Any, deadline_s: float) -> Any:
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException

        try:
            return await within_deadline(asyncio.to_thread(fn), deadline_s)
        except TimeoutError:
            raise self.error(f"{what}: no result within {deadline_s:g} s") from None
        except (SmartcardException, BaseSCardException, OSError) as exc:
            raise self.error(f"{what}: PC/SC error: {exc} (is pcscd running?)") from None

    async def _identify(self) -> Identity:
        reader = await self._call("list readers", self._pick_reader, self.timeout_s)
        self.reader_name = str(reader)
        return self.make_identity(self.reader_name)

    async def read_uid(self, timeout_s: float | None = None) -> str:
        """Wait for a card on the reader (deadline) and return its UID as upper-case hex."""
        self.require_active()
        wait = timeout_s if timeout_s is not None else self.timeout_s

        def do() -> str:
            from smartcard.CardRequest import CardRequest
            from smartcard.CardType import AnyCardType
            from smartcard.Exceptions import CardRequestTimeoutException

            reader = self._pick_reader()
            try:
                service = CardRequest(timeout=wait, cardType=AnyCardType(),
                                      readers=[reader]).waitforcard()
            except CardRequestTimeoutException:
                raise self.error(f"no card on {reader} within {wait:g} s") from None
            conn = service.connection
            conn.connect()
            try:
                data, sw1, sw2 = conn.transmit(GET_UID)
            finally:
                conn.disconnect()
                release = getattr(conn, "release", None)
                if release is not None:
                    release()
            if (sw1, sw2) != (0x90, 0x00):
                raise self.error(f"GET DATA (FF CA 00 00 00) answered SW {sw1:02X} {sw2:02X}"
                                 " (6A 81: not supported, 63 00: failed)")
            return bytes(data).hex().upper()

        return await self._call("read card UID", do, wait + 2.0)


def _build(ctx: BuildContext) -> PcscCardReader:
    return PcscCardReader(ctx.name, ctx.params.get("reader"), ctx.params.get("timeout_s", 5.0))


REGISTRATION = DriverRegistration(
    name=PcscCardReader.driver, role="reader", provides=CardReader,
    keys={"reader": Key(str, doc="PC/SC reader name (substring); default the first reader"),
          **TIMEOUT_KEYS},
    build=_build,
    lock_resources=lambda p: [f"pcsc:{p['reader']}"] if p.get("reader") else [],
    doc="the bench's own PC/SC reader, to enrol the lab's cards (reads their UIDs)")

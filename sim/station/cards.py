"""Where the station's identification comes from: an RFID reader.

The station polls its CardSource; a card that appears (rising edge) is one presentation.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)

GET_UID_APDU = [0xFF, 0xCA, 0x00, 0x00, 0x00]  # PC/SC pseudo-APDU: the card's UID


class CardSource(Protocol):
    async def poll(self) -> str | None:
        """The UID (upper-case hex, = idTag) of the card on the reader, None if none."""
        ...

    def close(self) -> None: ...


class ManualCardSource:
    """Cards put on the reader by code (tests, a rig without pcscd).

    Every change is seen by exactly one poll, in order, so a quick tap-tap is two
    presentations, as on a real reader where the card left the field in between.
    """

    def __init__(self) -> None:
        self._changes: deque[str | None] = deque()
        self._current: str | None = None

    def present(self, uid: str) -> None:
        """Put a card on the reader and leave it there."""
        self._changes.append(uid.upper())

    def tap(self, uid: str) -> None:
        """Put a card on the reader for one poll, then take it away."""
        self._changes.extend([uid.upper(), None])

    def remove(self) -> None:
        self._changes.append(None)

    @property
    def settled(self) -> bool:
        """True when the station has polled every change."""
        return not self._changes

    async def poll(self) -> str | None:
        if self._changes:
            self._current = self._changes.popleft()
        return self._current

    def close(self) -> None:
        self._changes.clear()
        self._current = None


class PcscCardSource:
    """A PC/SC reader through pyscard (pcscd; in the simulated rig pcscd + vpcd).

    The rig sets PCSCLITE_CSOCK_NAME (its private pcscd socket) before this imports
    smartcard. `reader` is a substring of the PC/SC reader name.
    """

    def __init__(self, reader: str) -> None:
        self.reader = reader
        self._conn = None
        self._reader = None
        self._missing_logged = False

    def _where(self) -> str:
        sock = os.environ.get("PCSCLITE_CSOCK_NAME", "default pcscd socket")
        return f"PC/SC reader {self.reader!r} via {sock}"

    def _read_uid(self) -> str | None:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        if self._conn is None:
            reader = self._find_reader()
            if reader is None:
                return None
            try:
                conn = reader.createConnection()  # establishes a PC/SC context: release it
            except CardConnectionException as exc:
                self._log_missing(f"no PC/SC context: {exc}")
                self._reader = None
                return None
            try:
                conn.connect()
            except NoCardException:
                _release(conn)
                return None  # no card on the reader
            except CardConnectionException:
                _release(conn)
                self._reader = None  # the reader may have gone: list again next time
                return None
            self._conn = conn
        try:
            data, sw1, sw2 = self._conn.transmit(GET_UID_APDU)
        except CardConnectionException:
            self._drop()  # card removed (or replaced) since the last poll
            return None
        if (sw1, sw2) != (0x90, 0x00) or not data:
            log.warning("%s: GET UID answered SW %02X%02X", self._where(), sw1, sw2)
            return None
        return bytes(data).hex().upper()

    def _find_reader(self):
        if self._reader is not None:
            return self._reader
        from smartcard.System import readers

        try:
            found = [r for r in readers() if self.reader in str(r)]
        except Exception as exc:  # pcscd down or restarting
            self._log_missing(f"listing readers failed: {exc}")
            return None
        if not found:
            self._log_missing("no such reader")
            return None
        self._missing_logged = False
        self._reader = found[0]
        return self._reader

    def _log_missing(self, why: str) -> None:
        if not self._missing_logged:
            log.warning("%s: %s", self._where(), why)
            self._missing_logged = True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # already gone with the card
                pass
            _release(conn)

    async def poll(self) -> str | None:
        return await asyncio.to_thread(self._read_uid)

    def close(self) -> None:
        self._drop()


def _release(conn) -> None:
    """Free the connection's PC/SC context (pcscd limits contexts per client)."""
    release = getattr(conn, "release", None)
    if release is not None:
        try:
            release()
        except Exception:  # a context already released or a dead pcscd
            pass

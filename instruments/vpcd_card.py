"""A virtual contactless card on a vpcd reader (vsmartcard), seen by pcscd like a real one.

The card is present while its TCP connection to vpcd is open (docs/instruments.md, vpcd). vpcd
frames every message with a 2-byte big-endian length; a 1-byte payload is a control code.
With no reader firmware in the path, the card itself answers the PC/SC GET DATA pseudo-APDU
`FF CA 00 00 00` with its UID, like a contactless reader would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time

from instruments.base import Driver
from instruments.deadline import within_deadline
from instruments.interfaces import CardPresenter, Identity
from instruments.registration import TCP_KEYS, TIMEOUT_KEYS, BuildContext, DriverRegistration
from instruments.safe_steps import card_removed

ATR = bytes.fromhex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
SW_OK = b"\x90\x00"
SW_NOT_SUPPORTED = b"\x6a\x81"
GET_UID = bytes.fromhex("FFCA0000")
# pcscd asks a reader's driver whether a card is present every 0.4 s: a card taken away and
# another presented within that gap looks to pcscd like one card that never left, so its
# clients (the station) never see the new one. A card stays away at least this long.
MIN_ABSENT_S = 1.0


def answer_apdu(apdu: bytes, uid: bytes) -> bytes:
    """Reader-like answer: UID + 90 00 for FF CA 00 00 [Le], 6A 81 for anything else."""
    if apdu[:4] == GET_UID and len(apdu) <= 5:
        return uid + SW_OK
    return SW_NOT_SUPPORTED


def _quickack(writer: asyncio.StreamWriter) -> None:
    # vpcd writes length and payload separately: without QUICKACK each APDU waits ~40 ms
    sock = writer.get_extra_info("socket")
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class VpcdCardPresenter(Driver):
    driver = "vpcd-card"

    def __init__(self, name: str, host: str, port: int, timeout_s: float = 5.0) -> None:
        super().__init__(name, f"{host}:{port}")
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._uid: str | None = None
        self._removed_mono: float | None = None  # when the last card left the field
        self.seen: list[str] = []  # what vpcd asked, for the record ("ATR?", "ON", "APDU ...")
        self._first_message = asyncio.Event()
        self._read = asyncio.Event()  # the reader sent the card an APDU (read its UID)
        self._closed_by_peer: str | None = None

    @property
    def presented(self) -> str | None:
        return self._uid if self._task is not None and not self._task.done() else None

    async def _identify(self) -> Identity:
        # no probe: a connection to vpcd *is* a card in the field, and bench check must
        # change nothing on the rig
        return self.make_identity("vpcd virtual card (not probed: connecting presents a card)",
                                  atr=ATR.hex(" ").upper())

    async def _close(self) -> None:
        await self._disconnect()

    async def present(self, uid: str, timeout_s: float | None = None) -> None:
        """Put the card on the reader; returns when vpcd has talked to it (asked its ATR)."""
        self.require_active()
        if self.presented is not None:
            await self.remove()
        uid_bytes = bytes.fromhex(uid)
        await self.wait_absent()
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        last = "no attempt"
        while True:
            try:
                reader, writer = await within_deadline(
                    asyncio.open_connection(self.host, self.port),
                    max(0.05, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError) as exc:
                # vpcd re-arms its listening socket a moment after a card left: retry
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise self.error(f"cannot present card {uid}: vpcd did not accept a connection "
                                 f"within {timeout_s or self.timeout_s:g} s (last: {last}); "
                                 "is pcscd with the vpcd driver running?")
            await asyncio.sleep(0.05)
        self._writer = writer
        self._uid = uid.upper()
        self._first_message = asyncio.Event()
        self._read = asyncio.Event()
        self._closed_by_peer = None
        self.seen = []
        self._task = asyncio.create_task(self._serve(reader, writer, uid_bytes),
                                         name=f"vpcd-card-{self.name}")
        try:
            await within_deadline(self._first_message.wait(),
                                   max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            await self._disconnect()
            raise self.error(f"card {uid}: vpcd accepted the connection but never asked for "
                             "the ATR (no pcscd polling this reader?)") from None
        if self._closed_by_peer:
            await self._disconnect()
            raise self.error(f"card {uid}: vpcd closed the connection: {self._closed_by_peer}")

    async def wait_absent(self) -> None:
        """Until the last card has been away MIN_ABSENT_S (at once when it has)."""
        if self._removed_mono is not None:
            await asyncio.sleep(max(0.0, self._removed_mono + MIN_ABSENT_S - time.monotonic()))

    async def wait_read(self, timeout_s: float) -> bool:
        """True once the reader sent the presented card an APDU (the station read it), False
        after `timeout_s`: a tap then lasts from the read, not from a presentation that a
        station polling late (a loaded machine) would never see."""
        try:
            await within_deadline(self._read.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def remove(self) -> None:
        self.require_active()
        await self._disconnect()

    async def _disconnect(self) -> None:
        task, writer = self._task, self._writer
        self._task = self._writer = None
        self._uid = None
        if writer is not None:
            self._removed_mono = time.monotonic()
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await within_deadline(writer.wait_closed(), 1.0)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     uid: bytes) -> None:
        try:
            while True:
                _quickack(writer)
                header = await reader.readexactly(2)
                (length,) = struct.unpack(">H", header)
                _quickack(writer)
                payload = await reader.readexactly(length)
                self._first_message.set()
                reply = self._handle(payload, uid)
                if reply is not None:
                    writer.write(struct.pack(">H", len(reply)) + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self._closed_by_peer = type(exc).__name__
            self._first_message.set()

    def _handle(self, payload: bytes, uid: bytes) -> bytes | None:
        if len(payload) == 1:
            code = payload[0]
            self.seen.append({CTRL_OFF: "OFF", CTRL_ON: "ON", CTRL_RESET: "RESET",
                              CTRL_ATR: "ATR?"}.get(code, f"CTRL {code:#04x}"))
            return ATR if code == CTRL_ATR else None
        self.seen.append(f"APDU {payload.hex()}")
        self._read.set()
        return answer_apdu(payload, uid)


def _build(ctx: BuildContext) -> VpcdCardPresenter:
    p = ctx.params
    return VpcdCardPresenter(ctx.name, p["host"], p["port"], p.get("timeout_s", 5.0))


REGISTRATION = DriverRegistration(
    name=VpcdCardPresenter.driver, role="card", provides=CardPresenter,
    keys={**TCP_KEYS, **TIMEOUT_KEYS}, build=_build, safe_state=(card_removed(),),
    sim_endpoint="vpcd",
    doc="a virtual contactless card on the station's PC/SC reader (vsmartcard vpcd)")

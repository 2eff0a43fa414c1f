"""Card presenters for physical cards: a Modbus relay board and a prompt to the operator."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from instruments.base import Driver
from instruments.deadline import within_deadline
from instruments.errors import OperatorUnavailable
from instruments.interfaces import CardPresenter, Identity
from instruments.modbus_link import ModbusLink
from instruments.registration import (
    MODBUS_DEVICE_KEY,
    TCP_KEYS,
    TIMEOUT_KEYS,
    BuildContext,
    DriverRegistration,
    Key,
    KeyProblem,
    RigFacts,
)
from instruments.safe_steps import card_removed


class RelayCardPresenter(Driver):
    """Real cards fixed at the reader; one coil per card puts that card in the field.

    Coil on = the card's antenna is live (the relay releases the short across its coil).
    """

    driver = "relay-card"

    def __init__(self, name: str, host: str, port: int, device_id: int,
                 coils_by_uid: dict[str, int], timeout_s: float = 1.0, retries: int = 2) -> None:
        self.link = ModbusLink(name, host, port, device_id, timeout_s, retries)
        super().__init__(name, self.link.address)
        self.coils_by_uid = {uid.upper(): coil for uid, coil in coils_by_uid.items()}
        self._uid: str | None = None

    @property
    def presented(self) -> str | None:
        return self._uid

    async def _open(self) -> None:
        await self.link.connect()

    async def _identify(self) -> Identity:
        states = await self._read_all()
        return self.make_identity(f"relay board, {len(self.coils_by_uid)} cards",
                                  coils_on=[c for c, on in states.items() if on])

    async def _close(self) -> None:
        self.link.close()

    async def _read_all(self) -> dict[int, bool]:
        out = {}
        for coil in sorted(set(self.coils_by_uid.values())):
            out[coil] = (await self.link.read_coils(coil, 1, f"coil {coil}"))[0]
        return out

    async def present(self, uid: str) -> None:
        self.require_active()
        uid = uid.upper()
        if uid not in self.coils_by_uid:
            raise self.error(f"no relay for card {uid}: the board holds "
                             + ", ".join(sorted(self.coils_by_uid)))
        await self.remove()
        coil = self.coils_by_uid[uid]
        await self.link.write_coil(coil, True, f"coil {coil}")
        self._uid = uid
        if not (await self.link.read_coils(coil, 1, f"coil {coil}"))[0]:
            raise self.error(f"card {uid}: coil {coil} reads back off after switching on",
                             f"coil {coil}")

    async def remove(self) -> None:
        self.require_active()
        for coil in sorted(set(self.coils_by_uid.values())):
            await self.link.write_coil(coil, False, f"coil {coil}")
        self._uid = None


class ManualCardPresenter(Driver):
    """Asks the operator to hold a card to the reader, with a deadline.

    Without a terminal (stdin not a tty: a nightly run) it raises OperatorUnavailable at
    once, so the case ends as ERROR instead of waiting for nobody.
    """

    driver = "manual-card"

    def __init__(self, name: str, timeout_s: float = 60.0, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        super().__init__(name, "operator")
        self.timeout_s = timeout_s
        self._stdin = stdin
        self._stdout = stdout
        self._uid: str | None = None

    @property
    def presented(self) -> str | None:
        return self._uid

    @property
    def stdin(self) -> TextIO:
        return self._stdin or sys.stdin

    def _interactive(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    async def _identify(self) -> Identity:
        return self.make_identity("operator prompt", interactive=self._interactive())

    async def _ask(self, text: str) -> None:
        if not self._interactive():
            raise OperatorUnavailable(self.name, self.address,
                                      f"{text}: no terminal to ask an operator (stdin is not "
                                      "a tty, e.g. a nightly run)")
        out = self._stdout or sys.stdout
        out.write(f"\n>>> {text}, then press Enter ({self.timeout_s:g} s) ")
        out.flush()
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()
        fd = self.stdin.fileno()

        def on_input() -> None:
            self.stdin.readline()
            if not answered.done():
                answered.set_result(None)

        loop.add_reader(fd, on_input)
        try:
            await within_deadline(answered, self.timeout_s)
        except TimeoutError:
            raise self.error(f"{text}: no answer from the operator within "
                             f"{self.timeout_s:g} s") from None
        finally:
            loop.remove_reader(fd)

    async def present(self, uid: str) -> None:
        self.require_active()
        await self._ask(f"Hold card {uid.upper()} to the station's reader")
        self._uid = uid.upper()

    async def remove(self) -> None:
        self.require_active()
        if self._uid is None:
            return
        await self._ask(f"Take card {self._uid} away from the reader")
        self._uid = None


def _coils_of_cards(coils: dict, rig: RigFacts) -> None:
    for tag, coil in coils.items():
        if tag not in rig.cards:
            raise KeyProblem("not a card tag of [cards] (known: "
                             + (", ".join(sorted(rig.cards)) or "none") + ")", tag)
        if not rig.cards[tag].presentable:
            raise KeyProblem(f"[cards.{tag}] has no uid: a card without a UID is for remote "
                             "starts only, no reader can see it", tag)
        if not isinstance(coil, int) or isinstance(coil, bool) or not 0 <= coil <= 65535:
            raise KeyProblem(f"= {coil!r}: must be a coil number 0 to 65535", tag)


def _build_relay(ctx: BuildContext) -> RelayCardPresenter:
    p = ctx.params
    coils = {str(ctx.rig.cards[tag].uid): coil for tag, coil in p["coils"].items()}
    return RelayCardPresenter(ctx.name, p["host"], p["port"], p["device_id"], coils,
                              p.get("timeout_s", 1.0))


def _build_manual(ctx: BuildContext) -> ManualCardPresenter:
    return ManualCardPresenter(ctx.name, ctx.params.get("timeout_s", 60.0))


RELAY_CARD = DriverRegistration(
    name=RelayCardPresenter.driver, role="card", provides=CardPresenter,
    keys={
        **TCP_KEYS,
        "device_id": MODBUS_DEVICE_KEY,
        "coils": Key(dict, required=True, check=_coils_of_cards, doc="card tag -> coil number"),
        **TIMEOUT_KEYS,
    },
    build=_build_relay,
    # a relay board's coils may still be on after a crash: always activate and switch off
    safe_state=(card_removed(always=True),), sim_endpoint="modbus",
    doc="real cards at the reader, one Modbus relay coil per card puts it in the field")

MANUAL_CARD = DriverRegistration(
    name=ManualCardPresenter.driver, role="card", provides=CardPresenter,
    keys={"timeout_s": Key((int, float), positive=True,
                           doc="how long the operator has to present a card")},
    build=_build_manual, safe_state=(card_removed(),), lock_resources=lambda params: [],
    doc="asks the operator to hold the card to the reader (needs a terminal)")

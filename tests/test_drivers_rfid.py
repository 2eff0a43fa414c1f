"""RFID: the vpcd virtual card presenter read through a real private pcscd by the PC/SC
reader driver (in a child process: pcsc-lite reads its socket name once per process), the
relay presenter against a Modbus coil board, the manual presenter without a terminal, and
the faults (vpcd port closed, pcscd gone)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sys
from collections.abc import AsyncIterator

import pytest

from instruments.card_presenters import ManualCardPresenter, RelayCardPresenter
from instruments.errors import InstrumentError, OperatorUnavailable
from instruments.vpcd_card import ATR, VpcdCardPresenter, answer_apdu
from sim.twins.ev import ILLEGAL_ADDRESS, ILLEGAL_FUNCTION, ModbusReject
from sim.twins.modbus_server import ModbusTwinServer

UID = "04A1B2C3D4E5F6"

READ_UID = """
import asyncio, json, sys
from instruments.errors import InstrumentError
from instruments.pcsc_reader import PcscCardReader

async def main():
    reader = PcscCardReader("reader", sys.argv[1] or None, timeout_s=float(sys.argv[2]))
    try:
        ident = await reader.activate()
        uid = await reader.read_uid()
        print(json.dumps({"identity": ident.identity, "uid": uid}))
    except InstrumentError as exc:
        print(json.dumps({"error": str(exc)}))
    finally:
        await reader.deactivate()

asyncio.run(main())
"""


async def read_uid_in_child(env: dict[str, str], reader: str = "", timeout_s: float = 5.0
                            ) -> dict[str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", READ_UID, reader, str(timeout_s), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s + 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert out.strip(), f"reader child said nothing; stderr: {err.decode()[-2000:]}"
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.fixture
async def pcscd(pcscd_binary: str, vpcd_driver: str) -> AsyncIterator[object]:
    from sim.pcsc import PrivatePcscd

    daemon = PrivatePcscd(pcscd=pcscd_binary, driver=vpcd_driver)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


def test_card_answers_like_a_reader() -> None:
    assert ATR.hex().upper() == "3B8F8001804F0CA000000306030001000000006A"
    uid = bytes.fromhex(UID)
    assert answer_apdu(bytes.fromhex("FFCA000000"), uid) == uid + b"\x90\x00"
    assert answer_apdu(bytes.fromhex("00A4040000"), uid) == b"\x6a\x81"


async def test_vpcd_card_read_by_pcsc_reader(pcscd) -> None:  # type: ignore[no-untyped-def]
    card = VpcdCardPresenter("card", "127.0.0.1", pcscd.vpcd_port, timeout_s=5.0)
    await card.activate()
    try:
        await card.present(UID)
        assert card.presented == UID
        assert not await card.wait_read(0.2)  # pcscd asked the ATR; nobody read the card yet
        result = await read_uid_in_child(pcscd.env(), "Virtual PCD")
        assert result.get("uid") == UID, result
        assert await card.wait_read(0.1)  # a tap is held from this read on (verbs.present_card)
        assert "Virtual PCD" in result["identity"]
        assert "ATR?" in card.seen
        assert "APDU ffca000000" in card.seen
        await card.remove()
        assert card.presented is None
        # vpcd re-arms its port after a removal: the presenter retries within its deadline
        await card.present("04DEADBEEF0001")
        result = await read_uid_in_child(pcscd.env(), "Virtual PCD")
        assert result.get("uid") == "04DEADBEEF0001", result
    finally:
        await card.deactivate()


async def test_reader_without_card_times_out_naming_reader(pcscd) -> None:  # type: ignore[no-untyped-def]
    result = await read_uid_in_child(pcscd.env(), "Virtual PCD", timeout_s=0.5)
    assert "error" in result, result
    assert result["error"].startswith("reader at reader Virtual PCD via "), result
    assert "no card" in result["error"]


async def test_reader_with_pcscd_gone_names_socket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "gone.comm")}
    result = await read_uid_in_child(env, "", timeout_s=1.0)
    assert "error" in result, result
    assert str(tmp_path / "gone.comm") in result["error"]


async def test_vpcd_port_closed_names_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    card = VpcdCardPresenter("card", "127.0.0.1", port, timeout_s=0.3)
    await card.activate()  # no probe: connecting would put a card on the reader
    with pytest.raises(InstrumentError) as info:
        await card.present(UID)
    msg = str(info.value)
    assert f"card at 127.0.0.1:{port}" in msg
    assert "vpcd did not accept a connection within 0.3 s" in msg
    assert card.presented is None
    await card.deactivate()


async def test_vpcd_silent_peer_is_an_error() -> None:
    """Something accepts the connection but never speaks vpcd (no pcscd behind it)."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        card = VpcdCardPresenter("card", "127.0.0.1", port, timeout_s=0.3)
        await card.activate()
        with pytest.raises(InstrumentError, match="never asked for the ATR"):
            await card.present(UID)
        assert card.presented is None
        await card.deactivate()
    finally:
        server.close()
        await server.wait_closed()


class RelayBoard:
    """A Modbus coil board: coil n on = card n's antenna live."""

    def __init__(self, n: int) -> None:
        self.coils = [False] * n

    def read_coils(self, address: int, count: int) -> list[bool]:
        if address + count > len(self.coils):
            raise ModbusReject(ILLEGAL_ADDRESS, "no such coil")
        return self.coils[address:address + count]

    def write_coils(self, address: int, values: list[bool]) -> None:
        if address + len(values) > len(self.coils):
            raise ModbusReject(ILLEGAL_ADDRESS, "no such coil")
        self.coils[address:address + len(values)] = values

    def read_holding(self, address: int, count: int) -> list[int]:
        raise ModbusReject(ILLEGAL_FUNCTION, "coils only")

    def write_holding(self, address: int, values: list[int]) -> None:
        raise ModbusReject(ILLEGAL_FUNCTION, "coils only")


async def test_relay_presenter_switches_one_card_at_a_time() -> None:
    board = RelayBoard(4)
    server = ModbusTwinServer({3: board}, port=0)
    await server.start()
    try:
        presenter = RelayCardPresenter("card", "127.0.0.1", server.port, 3,
                                       {"04AA": 0, "04BB": 2})
        ident = await presenter.activate()
        assert ident.details["coils_on"] == []
        await presenter.present("04aa")
        assert board.coils == [True, False, False, False]
        await presenter.present("04BB")
        assert board.coils == [False, False, True, False]
        assert presenter.presented == "04BB"
        with pytest.raises(InstrumentError, match="no relay for card 04CC"):
            await presenter.present("04CC")
        await presenter.remove()
        assert board.coils == [False] * 4
        assert presenter.presented is None
        await presenter.deactivate()
    finally:
        await server.stop()


async def test_manual_presenter_without_terminal_raises_at_once() -> None:
    presenter = ManualCardPresenter("card", timeout_s=600, stdin=io.StringIO(""))
    ident = await presenter.activate()
    assert ident.details["interactive"] is False
    with pytest.raises(OperatorUnavailable) as info:
        await presenter.present(UID)
    assert "no terminal" in str(info.value)
    assert info.value.fatal is False
    assert presenter.presented is None


async def test_manual_presenter_asks_the_operator_with_a_deadline() -> None:
    master, slave = os.openpty()
    stdin = os.fdopen(slave, "r")
    out = io.StringIO()
    try:
        presenter = ManualCardPresenter("card", timeout_s=5, stdin=stdin, stdout=out)
        assert (await presenter.activate()).details["interactive"] is True
        task = asyncio.create_task(presenter.present(UID))
        await asyncio.sleep(0.05)
        os.write(master, b"\n")  # the operator presses Enter
        await asyncio.wait_for(task, 5)
        assert presenter.presented == UID
        assert f"Hold card {UID}" in out.getvalue()
        presenter.timeout_s = 0.2
        with pytest.raises(InstrumentError, match=r"no answer from the operator within 0\.2 s"):
            await presenter.remove()  # nobody answers
    finally:
        stdin.close()
        os.close(master)

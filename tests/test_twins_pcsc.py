"""The private pcscd with vpcd: pyscard (in a subprocess, on the private socket) reads the UID
of a virtual card the test connects, and sees it go when the card disconnects."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from sim.pcsc import PcscdError, PrivatePcscd
from sim.testing import VpcdCard

# libpcsclite reads PCSCLITE_CSOCK_NAME once per process: pyscard runs in its own process.
READER_SCRIPT = r"""
import sys, time
from smartcard.System import readers
from smartcard.Exceptions import CardConnectionException, NoCardException

name = sys.argv[1]
reader = next(r for r in readers() if str(r) == name)
deadline = time.monotonic() + 10
while True:  # wait for the card
    conn = reader.createConnection()
    try:
        conn.connect()
        break
    except (NoCardException, CardConnectionException):
        if time.monotonic() > deadline:
            sys.exit("no card on " + name)
        time.sleep(0.02)
data, sw1, sw2 = conn.transmit([0xFF, 0xCA, 0x00, 0x00, 0x00])
conn.disconnect()
conn.release()
print("UID %s %02X%02X" % (bytes(data).hex().upper(), sw1, sw2), flush=True)
sys.stdin.readline()  # the test removes the card now
deadline = time.monotonic() + 10
while True:
    conn = reader.createConnection()
    try:
        conn.connect()
        conn.disconnect()
        conn.release()
    except (NoCardException, CardConnectionException):
        print("REMOVED", flush=True)
        break
    if time.monotonic() > deadline:
        sys.exit("card still present on " + name)
    time.sleep(0.02)
"""


@pytest.fixture
async def pcscd(pcscd_binary, vpcd_driver):
    daemon = PrivatePcscd(pcscd=pcscd_binary, driver=vpcd_driver)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()
        assert daemon.process is None


async def test_pyscard_reads_the_uid_of_a_vpcd_card_and_sees_its_removal(pcscd):
    assert pcscd.reader_name == "Virtual PCD 00 00"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", READER_SCRIPT, pcscd.reader_name, env=pcscd.env(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    card = VpcdCard("04A1B2C3D4E5F6", pcscd.vpcd_port)
    try:
        await card.insert()
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.decode().strip() == "UID 04A1B2C3D4E5F6 9000"
        assert bytes.fromhex("FFCA000000") in card.apdus
        await card.remove()
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.decode().strip() == "REMOVED"
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        await card.remove()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if proc.returncode:
            print((await proc.stderr.read()).decode()[-2000:])


async def test_missing_pcscd_is_named():
    with pytest.raises(PcscdError, match=r"pcscd not found.*apt-get install pcscd"):
        await PrivatePcscd(pcscd="/nonexistent/pcscd").start()


async def test_vpcd_port_in_use_is_named(pcscd_binary, vpcd_driver):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        daemon = PrivatePcscd(port, pcscd=pcscd_binary, driver=vpcd_driver)
        with pytest.raises(PcscdError, match=rf"0\.0\.0\.0:{port} not available.*in use"):
            await daemon.start()
        assert daemon.process is None


async def test_a_pcscd_that_dies_at_start_is_reported_with_its_log(tmp_path, vpcd_driver):
    fake = tmp_path / "pcscd"
    fake.write_text("#!/bin/sh\necho 'cannot start: simulated failure'\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(PcscdError, match=r"(?s)exited during start-up.*simulated failure"):
        await PrivatePcscd(pcscd=str(fake), driver=vpcd_driver).start()

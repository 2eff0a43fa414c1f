"""The station's PC/SC card source against a real private pcscd with a vpcd card."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from sim.pcsc import PrivatePcscd
from sim.station import ManualCardSource
from sim.testing import VpcdCard

UID = "04A1B2C3D4E5F6"

# libpcsclite reads PCSCLITE_CSOCK_NAME once per process: the card source runs in its own.
SOURCE_SCRIPT = r"""
import asyncio, sys, time
from sim.station.cards import PcscCardSource

async def until(src, want_card, what):
    deadline = time.monotonic() + 10
    while True:
        uid = await src.poll()
        if (uid is not None) == want_card:
            return uid
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + what)
        await asyncio.sleep(0.02)

async def main():
    src = PcscCardSource(sys.argv[1])
    for _ in range(int(sys.argv[2])):  # many empty polls in a row keep working
        assert await src.poll() is None
    print("EMPTY", flush=True)
    print("UID", await until(src, True, "the card"), flush=True)
    sys.stdin.readline()
    await until(src, False, "the removal")
    print("REMOVED", flush=True)
    src.close()

asyncio.run(main())
"""


@pytest.fixture
async def pcscd(pcscd_binary, vpcd_driver):
    daemon = PrivatePcscd(pcscd=pcscd_binary, driver=vpcd_driver)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


async def test_pcsc_card_source_reads_the_uid_and_sees_removal(pcscd):
    env = {**pcscd.env(), "PYTHONPATH": os.getcwd()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SOURCE_SCRIPT, pcscd.reader_name, "400", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    card = VpcdCard(UID, pcscd.vpcd_port)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.decode().strip() == "EMPTY", (await proc.stderr.read()).decode()[-2000:]
        await card.insert()
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.decode().strip() == f"UID {UID}"
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


async def test_manual_card_source_shows_each_change_once():
    cards = ManualCardSource()
    cards.tap("04aa")
    cards.tap("04aa")
    seen = [await cards.poll() for _ in range(5)]
    assert seen == ["04AA", None, "04AA", None, None]
    cards.present("04BB")
    assert [await cards.poll(), await cards.poll()] == ["04BB", "04BB"]
    assert cards.settled

"""`bench check`: identifies every instrument of the simulated rig, changes nothing, and
names each instrument that does not answer."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from bench.commands.check import main
from sim.testing import SimRigProcess

ROOT = Path(__file__).resolve().parent.parent


async def modbus(port: int, write: int | None = None) -> int:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=1)
    try:
        assert await client.connect()
        if write is not None:
            assert not (await client.write_register(0, write, device_id=1)).isError()
        rr = await client.read_holding_registers(0, count=1, device_id=1)
        return rr.registers[0]
    finally:
        client.close()


@pytest.mark.slow
def test_check_on_the_simulated_rig(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    pcscd_binary: str, vpcd_driver: str) -> None:
    endpoints = tmp_path / "endpoints.json"
    with SimRigProcess(["--no-station", "--endpoints-file", str(endpoints)], cwd=ROOT) as sim:
        port = sim.endpoints["modbus"]["port"]
        assert asyncio.run(modbus(port, write=1)) == 1  # EV 1 plugged before the check
        rc = main(["--rig", str(ROOT / "rigs" / "sim.toml"), "--endpoints-file", str(endpoints),
                   "--json"])
        out = capsys.readouterr().out
        assert asyncio.run(modbus(port)) == 1  # still plugged: check changed nothing
    assert rc == 0, out
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == {"ev1", "ev2", "meter", "card", "mains", "network"}
    assert all(r["ok"] for r in rows.values()), rows
    assert rows["meter"]["identity"].startswith("BENCHSIM,PM-SIM,")
    assert rows["ev1"]["identity"] == "bench-ev map v1"


def dead_endpoints(tmp_path: Path) -> Path:
    """An endpoints file whose every port refuses: each instrument fails fast."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps({
        "modbus": {"host": "127.0.0.1", "port": port},
        "scpi": {"host": "127.0.0.1", "port": port,
                 "resource": f"TCPIP::127.0.0.1::{port}::SOCKET"},
        "vpcd": {"host": "127.0.0.1", "port": port},
    }))
    return endpoints


def quick_rig(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    rig = (ROOT / "rigs" / "sim.toml").read_text().replace(
        'device_id = 1\nregister_map', 'device_id = 1\ntimeout_s = 0.3\nretries = 0\nregister_map')
    for old, new in replacements:
        assert old in rig
        rig = rig.replace(old, new)
    rig_file = tmp_path / "rig.toml"
    rig_file.write_text(rig)
    return rig_file


def test_check_names_what_does_not_answer(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    endpoints = dead_endpoints(tmp_path)
    port = json.loads(endpoints.read_text())["modbus"]["port"]
    rc = main(["--rig", str(quick_rig(tmp_path)), "--endpoints-file", str(endpoints)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "warning" not in captured.out  # a fixed-cable rig needs no socket actuators
    assert f"FAIL ev1        modbus-ev    127.0.0.1:{port} device 1" in captured.out
    assert f"error: ev1 at 127.0.0.1:{port} device 1: cannot connect" in captured.out
    assert f"error: meter at TCPIP::127.0.0.1::{port}::SOCKET" in captured.out
    assert "ok   card" in captured.out  # the vpcd card is not probed (that would present it)
    assert "did not answer: ev1, ev2, meter, mains" in captured.err


def test_check_bad_rig_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "X"\nsecurity_profile = 7\n')
    assert main(["--rig", str(bad)]) == 2
    assert "[station] security_profile = 7: must be 0, 1, 2 or 3" in capsys.readouterr().err


def test_check_warns_of_a_socket_rig_whose_ev_cannot_seat_the_cable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Said up front, not as an ERROR in the middle of the campaign's socket cases."""
    rig = quick_rig(tmp_path, ("fixed_cable = true", "fixed_cable = false"))
    main(["--rig", str(rig), "--endpoints-file", str(dead_endpoints(tmp_path))])
    out = capsys.readouterr().out
    for ev, connector in (("ev1", 1), ("ev2", 2)):
        assert (f"warning: a socket rig ([hardware] fixed_cable = false) but {ev} (connector "
                f"{connector}) has no socket actuators") in out

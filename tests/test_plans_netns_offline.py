"""The offline cases TC_035..TC_039 under a network cut like a pulled cable.

The simulated station runs in a network namespace of its own (a veth pair, the bench side its
gateway), the bench outside treats it as a lab rig: `bench run` with the nft-drop driver, which
drops the station's packets on the bench host. The station must find out by its own WebSocket
ping; every case must PASS and record when the station was seen to notice
(network.offline_detection), and no nftables table of ours may remain.

Root and nftables are real parts: in CI a machine that cannot make namespaces fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import require_real_part

from instruments.nftables import table_name
from sim.netns import StationNetns, netns_unavailable
from sim.netns_rigs import dump_toml, write_lab_rig, write_station_rig
from sim.testing import SimRigProcess

ROOT = Path(__file__).resolve().parent.parent
CASES = ["TC_035_CS", "TC_036_CS", "TC_037_1_CS", "TC_037_2_CS", "TC_037_3_CS", "TC_038_CS",
         "TC_039_CS"]
# the station's own loss detection: a ping a second, a second for its pong; and it comes back
# within 2 s of each try
STATION_CONFIG = {"station": {"ping_timeout_s": 1.0, "reconnect_max_s": 2.0},
                  "keys": {"WebSocketPingInterval": 1}}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # a campaign of 7 cases: ~90 s


@pytest.fixture
def station_netns():
    reason = netns_unavailable()
    require_real_part("network namespaces", reason is None, reason or "")
    nft = shutil.which("nft") or "/usr/sbin/nft"
    require_real_part("nftables", os.path.exists(nft), "apt-get install nftables")
    ns = StationNetns.create()
    try:
        yield ns
    finally:
        ns.remove()


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def offline_plan(folder: Path) -> Path:
    """The core plan's short intervals as settings (the bench does not know it is simulated),
    shorter still where the cases wait whole intervals: the test's time is the campaign's."""
    core = tomllib.loads((ROOT / "testplans" / "plans" / "core.toml").read_text("utf-8"))
    settings = {**core["sim_settings"], "heartbeat_interval_s": 2,
                "meter_value_sample_interval_s": 1}
    plan = {"name": "offline-netns", "suites": ["core"], "cases": CASES, "settings": settings}
    path = folder / "offline-netns.toml"
    path.write_text(dump_toml(plan), "utf-8")
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def test_offline_cases_pass_under_a_silent_drop(tmp_path: Path, station_netns: StationNetns
                                                ) -> None:
    ns = station_netns
    port = free_port(ns.bench_ip)
    station_config = tmp_path / "station.toml"
    station_config.write_text(dump_toml(STATION_CONFIG), "utf-8")
    station_rig = write_station_rig(ROOT / "rigs" / "sim.toml", ns, port, tmp_path,
                                    station_config)
    sim = SimRigProcess(["--rig", str(station_rig), "--csms-url",
                         f"ws://{ns.bench_ip}:{port}/ocpp"],
                        prefix=ns.exec_prefix(), cwd=ROOT, ready_timeout=30)
    try:
        endpoints = sim.start()
        lab_rig = write_lab_rig(ROOT / "rigs" / "sim.toml", ns, port, tmp_path, endpoints, {
            "driver": "nft-drop", "station_address": ns.station_ip, "interface": ns.bench_if,
            "detection_timeout_s": 30})
        run = subprocess.run(
            [sys.executable, "-m", "bench.cli", "run", "--rig", str(lab_rig),
             "--plan", str(offline_plan(tmp_path)), "--runs-dir", str(tmp_path / "runs"),
             "--lock-dir", str(tmp_path / "locks"), "--no-reports"],
            cwd=ROOT, capture_output=True, text=True, timeout=400, check=False)
    finally:
        sim.close()
    said = f"stdout: {run.stdout[-3000:]}\nstderr: {run.stderr[-2000:]}"
    assert run.returncode == 0, said
    run_dir = next((tmp_path / "runs").glob("*-offline-netns"))
    verdicts = {v["case"]: v["verdict"] for v in lines(run_dir / "verdicts.jsonl")}
    assert verdicts == dict.fromkeys(CASES, "PASS"), said

    detections = [m for m in lines(run_dir / "measurements.jsonl")
                  if m["name"] == "network.offline_detection"]
    assert sorted(m["case"] for m in detections) == CASES
    for m in detections:  # a ping a second, its pong given a second, a reconnect: 1 to 5 s
        assert 1.0 <= m["value"] < 6.0, m
        assert m["description"].startswith("nft-drop:") and "SYN" in m["description"]

    events = lines(run_dir / "events.jsonl")
    assert not [e for e in events if e["kind"] == "handshake" and e["name"] == "refused"]
    safe = [e for e in events if e["kind"] == "safe_state" and e["name"] == "network.restored"]
    assert safe and all(e["detail"]["ok"] for e in safe)
    # the station found out by itself: its pings went unanswered (one loss per cut)
    assert sim.stderr_text.count("no pong from") >= len(CASES), sim.stderr_text[-2000:]
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                            check=True).stdout
    assert table_name(ns.station_ip, ns.bench_if) not in listed

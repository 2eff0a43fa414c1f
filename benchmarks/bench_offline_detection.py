"""Offline detection under both network drivers: how soon after a cut the station reacts.

The simulated station runs in a network namespace of its own (sim/netns.py: a veth pair, the
bench side its gateway) with its WebSocket ping (WebSocketPingInterval = --ping-interval s,
pong deadline --pong-timeout s); the bench's CSMS and network driver run here, outside. Each
driver cuts --cuts times for --offline s (a random pause first, so the cuts fall at random
points of the ping cycle), restores, and waits for the reconnection. The figures are the
bench's measurement `network.offline_detection`:

- nft-drop: cut -> the station's first new TCP connection attempt (SYN) counted by the bench's
  nftables table: the station's own loss detection plus its reconnect delay;
- csms-side: cut (a clean close) -> its first handshake, refused with HTTP 503: the reconnect
  delay alone, the station had nothing to detect.

and `restore -> reconnected` (the new websocket accepted).

    .venv/bin/python benchmarks/bench_offline_detection.py [--cuts 6] [--ping-interval 2]
                                                            [--pong-timeout 2] [--offline 2]

Needs root and nftables; says why and exits 0 without them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, Summary, table

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record import RunRecord
from bench.verbs import build_driver
from instruments.base import Driver
from sim.netns import StationNetns, netns_unavailable
from sim.netns_rigs import dump_toml, write_lab_rig, write_station_rig
from sim.testing import SimRigProcess

DRIVERS = {"csms-side": {"driver": "csms-side"}, "nft-drop": {"driver": "nft-drop"}}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cuts", type=int, default=6, help="cuts per driver (default %(default)s)")
    p.add_argument("--ping-interval", type=int, default=2,
                   help="the station's WebSocketPingInterval, s (default %(default)s)")
    p.add_argument("--pong-timeout", type=float, default=2.0,
                   help="how long the station waits for a pong, s (default %(default)s)")
    p.add_argument("--offline", type=float, default=2.0,
                   help="offline window after the station noticed, s (default %(default)s)")
    return p.parse_args()


async def cut_series(net: Any, station: Any, cuts: int, offline_s: float,
                     spread_s: float) -> tuple[list[float], list[float]]:
    detected, back = [], []
    for _ in range(cuts):
        await asyncio.sleep(random.uniform(0.5, 0.5 + spread_s))
        await net.cut(offline_s)
        await net.restore()
        restored = time.monotonic_ns()
        await station.wait_reconnected(60)
        seen = net.detection()
        if seen is not None and seen.seconds is not None:
            detected.append(seen.seconds)
        back.append(max(0.0, (station.connected_mono_ns - restored) / 1e9))
    return detected, back


async def run(args: argparse.Namespace, ns: StationNetns, folder: Path) -> list[list[object]]:
    with socket.socket() as s:
        s.bind((ns.bench_ip, 0))
        port = s.getsockname()[1]
    station_config = folder / "station.toml"
    station_config.write_text(dump_toml({
        "station": {"ping_timeout_s": args.pong_timeout, "reconnect_max_s": 2.0},
        "keys": {"WebSocketPingInterval": args.ping_interval}}), "utf-8")
    base = REPO / "rigs" / "sim.toml"
    station_rig = write_station_rig(base, ns, port, folder, station_config)
    record = RunRecord.create(folder / "runs", "offline-detection")
    sim = SimRigProcess(["--rig", str(station_rig), "--csms-url",
                         f"ws://{ns.bench_ip}:{port}/ocpp"], prefix=ns.exec_prefix(), cwd=REPO,
                        ready_timeout=30)
    csms = None
    rows: list[list[object]] = []
    try:
        endpoints = await asyncio.to_thread(sim.start)
        for name, params in DRIVERS.items():
            if name == "nft-drop":
                params = {**params, "station_address": ns.station_ip, "interface": ns.bench_if}
            rig = load_rig(write_lab_rig(base, ns, port, folder, endpoints, params,
                                         name=f"lab-{name}.toml"))
            if csms is None:
                csms = Csms.from_rig(rig, record)
                await csms.start()
            station = await csms.wait_for_station(rig.station.id, timeout=60, boot=True)
            net = build_driver(rig.instruments["network"], rig, csms)
            net.station = station
            if isinstance(net, Driver):
                await net.activate()
            try:
                detected, back = await cut_series(net, station, args.cuts, args.offline,
                                                  float(args.ping_interval))
            finally:
                if isinstance(net, Driver):
                    await net.deactivate()
            d, b = Summary.of(detected), Summary.of(back)
            rows.append([name, d.n, d.min, d.p50, d.max, b.min, b.p50, b.max])
    finally:
        await asyncio.to_thread(sim.close)
        if csms is not None:
            await csms.stop()
        record.close("complete")
    return rows


def main() -> int:
    args = parse_args()
    reason = netns_unavailable()
    if reason is None and shutil.which("nft") is None:
        reason = "nft (nftables) not found: apt-get install nftables"
    if reason is not None:
        print(f"bench_offline_detection: skipped: {reason}")
        return 0
    window = MachineWindow()
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp, \
            StationNetns.create() as ns:
        rows = asyncio.run(run(args, ns, Path(tmp)))
    window.stop()
    print(f"Station: WebSocketPingInterval {args.ping_interval} s, pong deadline "
          f"{args.pong_timeout:g} s, reconnect 1 s after a loss; {args.cuts} cuts per driver, "
          f"offline {args.offline:g} s after the station noticed; station in netns, bench "
          "outside.")
    print(table(["driver", "cuts", "detection min s", "median", "max",
                 "restore->reconnected min s", "median", "max"], rows))
    low = args.pong_timeout + 1.0
    print(f"nft-drop expectation: pong deadline + reconnect delay = {low:g} s, plus up to one "
          f"ping interval ({args.ping_interval} s) depending on where in the ping cycle the cut "
          "falls, plus the SYN counter's read period (0.1 s). csms-side: the reconnect delay "
          "(1 s) only.")
    print(window.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Heartbeats measured two ways on a live station, and what keeping every station PDU costs.

    .venv/bin/python benchmarks/bench_idle_times.py [--seconds 30] [--interval 1] [--lines 200000]

1. The bench's CSMS on loopback and the simulated station (in process, real websocket), with
   and without the behaviour heartbeat_skips_and_queues (main-meter MeterValues every
   ClockAlignedDataInterval = 3 x HeartbeatInterval stand in for Heartbeats). For each: the
   idle times the bench judges (station PDU -> next station PDU) and the old measure
   (Heartbeat -> Heartbeat), n / min / median / p99 / max, in ms. The idle time's distance to
   the interval is the bench + station timing error; Heartbeat to Heartbeat shows the false
   FAILs the old measure gave a conformant station.
2. What keeping every station PDU costs the session (bench/csms/session.py, fed once by the
   receive loop): µs per frame and the memory of a full PDU log.

Prints markdown tables; the load average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Summary, table

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.csms.messages import CALL
from bench.csms.session import PDUS_KEPT, SessionState
from bench.record import RunRecord
from testplans.heartbeat import idle_times

REPO = Path(__file__).resolve().parents[1]


async def live(seconds: float, interval: int, behaviour: str | None,
               folder: Path) -> tuple[list[float], list[float]]:
    """(idle times, Heartbeat-to-Heartbeat periods) in seconds over `seconds` of idling."""
    from sim.model import RigModel
    from sim.station.config import StationConfig
    from sim.station.station import StationSimulator

    rig = load_rig(REPO / "rigs" / "sim.toml")
    record = RunRecord.create(folder, behaviour or "default")
    csms = Csms.from_rig(rig, record, port=0, heartbeat_interval_s=interval)
    await csms.start()
    cfg = StationConfig.smartdc().with_overrides(
        {"keys": {"ClockAlignedDataInterval": 3 * interval}})
    sim = StationSimulator(cfg, RigModel(rig.station.connectors), None,
                           f"{csms.url}/{rig.station.id}",
                           behaviours={behaviour} if behaviour else set())
    task = asyncio.create_task(sim.run())
    try:
        station = await csms.wait_for_station(rig.station.id, timeout=10)
        start = time.monotonic_ns()
        await asyncio.sleep(seconds)
        pdus = station.session.pdus_sent(start)
    finally:
        await sim.power_off()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await csms.stop()
        record.close()
    beats = [p for p in pdus if p.action == "Heartbeat" and p.msg_type == 2]
    periods = [(b.mono_ns - a.mono_ns) / 1e9 for a, b in itertools.pairwise(beats)]
    return [t.seconds for t in idle_times(pdus)], periods


def pdu_log_cost(frames: int) -> tuple[float, float]:
    """(µs per frame the session logs, MB of a full PDU log)."""
    session = SessionState("CP")
    t0 = time.perf_counter()
    for i in range(frames):
        session.station_pdu(i * 1000, i, CALL, "MeterValues")
    per_frame_us = (time.perf_counter() - t0) / frames * 1e6
    tracemalloc.start()
    full = SessionState("CP")
    for i in range(PDUS_KEPT):
        full.station_pdu(i * 1000, i, CALL, "MeterValues")
    mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    return per_frame_us, mb


def row(name: str, values: list[float], interval: float) -> list[object]:
    s = Summary.of(values)
    return [name, s.n, *(f"{x * 1e3:.1f}" for x in (s.min, s.p50, s.p99, s.max)),
            f"{(s.max - interval) * 1e3:+.1f}"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--interval", type=int, default=1, help="HeartbeatInterval in s")
    p.add_argument("--lines", type=int, default=200_000, help="frames for the PDU-log cost")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for behaviour in (None, "heartbeat_skips_and_queues"):
            idle, periods = asyncio.run(live(args.seconds, args.interval, behaviour, Path(tmp)))
            label = behaviour or "default station"
            rows.append(row(f"{label}: idle time", idle, args.interval))
            rows.append(row(f"{label}: Heartbeat to Heartbeat", periods, args.interval))
    print(f"\nHeartbeatInterval {args.interval} s, {args.seconds:g} s idle each (ms)\n")
    print(table(["measure", "n", "min", "median", "p99", "max", "max - interval"], rows))
    per_frame, mb = pdu_log_cost(args.lines)
    print(f"\nSessionState.station_pdu: {per_frame:.2f} µs per frame ({args.lines} frames); "
          f"a full PDU log ({PDUS_KEPT} PDUs) holds {mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

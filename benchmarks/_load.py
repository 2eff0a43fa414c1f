"""The load process of the endpoint benchmarks: N simulated stations on one event loop.

Runs in its own process so the stations do not share the server's event loop. Each station
connects, boots, then, per measured window, sends CALLs in a closed loop (the next one as soon
as the answer arrives) or paced (all stations together offer `--rate` CALL/s).

    python benchmarks/_load.py URL N [--mix endpoint|scale] [--rate R]
    stdout: READY {"stations": N, "connect_s": ...}
    stdin:  GO <seconds>   -> RESULT {"calls": ..., "rtt_p50_ms": ..., ...}
            EOF            -> close every connection, exit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, raise_fd_limit, stdin_lines

BOOT = {"chargePointVendor": "Bench", "chargePointModel": "Load"}
METER_VALUES = {"connectorId": 1, "transactionId": 1, "meterValue": [{
    "timestamp": "2026-11-23T10:00:00Z", "sampledValue": [
        {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "22000", "measurand": "Power.Active.Import", "unit": "W"}]}]}
MIXES: dict[str, list[tuple[str, dict]]] = {
    # bench_endpoint.py: the four CALLs a station sends most
    "endpoint": [
        ("Heartbeat", {}),
        ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                "timestamp": "2026-11-23T10:00:00Z"}),
        ("MeterValues", METER_VALUES),
        ("Authorize", {"idTag": "04A1B2C3D4E5F6"}),
    ],
    # bench_scale.py: Heartbeat and MeterValues, alternating
    "scale": [("Heartbeat", {}), ("MeterValues", METER_VALUES)],
}
CONNECT_CONCURRENCY = 50  # below the server's listen backlog (100): no SYN retries
CONNECT_TIMEOUT_S = 120.0
MAX_CALLS_PER_WINDOW = 2_000_000  # per station: the loop is bounded in count as well as time


async def connect_station(url: str, sid: str, gate: asyncio.Semaphore):
    from websockets.asyncio.client import connect

    async with gate:
        ws = await connect(f"{url}/{sid}", subprotocols=["ocpp1.6"], proxy=None,
                           compression=None, ping_interval=None, max_queue=None,
                           open_timeout=30)
        await ws.send(json.dumps([2, "boot", "BootNotification", BOOT]))
        answer = json.loads(await ws.recv())
        if answer[0] != 3 or answer[2].get("status") != "Accepted":
            raise RuntimeError(f"station {sid}: BootNotification at {url} answered {answer!r}")
        return ws


async def station_window(ws, sid: str, frames: list[tuple[str, str]], stop_at: float,
                         interval: float | None, offset: float, rtts: list[float]) -> int:
    """One station's CALLs until stop_at; returns how many were answered."""
    loop = asyncio.get_running_loop()
    next_t = loop.time() + offset
    n = 0
    perf = time.perf_counter_ns
    mono = time.monotonic
    prefix = f'[2,"{sid}-'
    while n < MAX_CALLS_PER_WINDOW and mono() < stop_at:
        if interval is not None:  # paced: one CALL per interval, no catch-up bursts
            delay = next_t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next_t = max(next_t + interval, loop.time())
        action, payload = frames[n % len(frames)]
        frame = f'{prefix}{n}","{action}",{payload}]'
        t0 = perf()
        await ws.send(frame)
        await ws.recv()
        rtts.append((perf() - t0) / 1e6)
        n += 1
    return n


async def main_async(url: str, stations: int, mix: str, rate: float, prefix: str) -> int:
    frames = [(action, json.dumps(payload, separators=(",", ":")))
              for action, payload in MIXES[mix]]
    interval = stations / rate if rate > 0 else None
    fd_note = raise_fd_limit(stations + 64)
    ids = [f"{prefix}{i:03d}" for i in range(stations)]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    t0 = time.monotonic()
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        conns = await asyncio.gather(*(connect_station(url, sid, gate) for sid in ids))
    print("READY " + json.dumps({"stations": stations, "connect_s": time.monotonic() - t0,
                                 "fd": fd_note}), flush=True)
    commands = await stdin_lines()
    try:
        while (cmd := await commands.get()) is not None:
            if not cmd.startswith("GO"):
                continue
            seconds = float(cmd.split()[1])
            rtts: list[float] = []
            usage0 = resource.getrusage(resource.RUSAGE_SELF)
            start = time.monotonic()
            stop_at = start + seconds
            async with asyncio.timeout(seconds + 60):
                counts = await asyncio.gather(*(
                    station_window(ws, sid, frames, stop_at, interval,
                                   (interval or 0) * i / stations, rtts)
                    for i, (ws, sid) in enumerate(zip(conns, ids, strict=True))))
            elapsed = time.monotonic() - start
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
            print("RESULT " + json.dumps({
                "calls": sum(counts), "seconds": elapsed,
                "rtt_p50_ms": percentile(rtts, 0.5), "rtt_p99_ms": percentile(rtts, 0.99),
                "rtt_max_ms": max(rtts, default=float("nan")),
                "load_cpu_pct": 100 * cpu / elapsed,
                "min_station_calls": min(counts), "max_station_calls": max(counts),
            }), flush=True)
    finally:
        async with asyncio.timeout(30):
            await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("stations", type=int)
    p.add_argument("--mix", choices=sorted(MIXES), default="scale")
    p.add_argument("--rate", type=float, default=0.0,
                   help="total CALL/s offered by all stations (0: closed loop)")
    p.add_argument("--prefix", default="LOAD", help="station id prefix")
    args = p.parse_args()
    return asyncio.run(main_async(args.url, args.stations, args.mix, args.rate, args.prefix))


if __name__ == "__main__":
    sys.exit(main())

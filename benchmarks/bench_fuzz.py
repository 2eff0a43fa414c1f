"""Benchmark of the endpoint under a mutation fuzz (not a test): throughput, answers, the record,
memory, and what a well-behaved station meanwhile sees.

Three processes: `bench serve` (the endpoint as shipped, recording everything), the fuzzer
(benchmarks/_fuzz_load.py: N raw connections of seeded mutation streams, every answer checked
against what OCPP-J 1.6 requires) and this one, which meanwhile runs one well-behaved station
(a Heartbeat every 20 ms, round trip measured) and samples the endpoint's RSS each time
another quarter of the frames is sent. Afterwards the run directory is read back: frames
sent vs recorded (verbatim), seq gaps.

    .venv/bin/python benchmarks/bench_fuzz.py [--frames 100000] [--connections 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import BENCHMARKS, Child, MachineWindow, Summary, table
from _fuzz_load import stream_frames

from bench.csms.rawws import RawWs
from bench.record.reader import frame_raw, load_run

GOOD_INTERVAL_S = 0.02


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def good_station(host: str, port: int, path: str, stop: asyncio.Event,
                       rtts_ms: list[float], failures: list[str]) -> None:
    """A station that behaves: Heartbeat every GOOD_INTERVAL_S, each answer timed."""
    ws = await RawWs.open(host, port, f"{path}/GOOD-1", timeout=30)
    try:
        await ws.send_text('[2,"boot","BootNotification",'
                           '{"chargePointVendor":"Bench","chargePointModel":"Good"}]')
        await ws.recv_text(30)
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.perf_counter()
            await ws.send_text(f'[2,"g{n}","Heartbeat",{{}}]')
            answer = json.loads(await ws.recv_text(30))
            rtts_ms.append((time.perf_counter() - t0) * 1e3)
            if answer[:2] != [3, f"g{n}"]:
                failures.append(f"good station: {answer!r}")
            await asyncio.sleep(GOOD_INTERVAL_S)
    finally:
        await ws.close()


async def run(frames: int, connections: int, seed: int, runs_dir: Path) -> dict:
    per_connection = max(60, frames // connections)
    serve = await Child.start("bench serve", "-m", "bench.cli", "serve", "--listen",
                              "127.0.0.1:0", "--runs-dir", str(runs_dir), "--quiet")
    fuzz = None
    stop_good = asyncio.Event()
    rtts: list[float] = []
    failures: list[str] = []
    try:
        line = await serve.expect("CSMS listening: a station connects to ", 30)
        url = line.split()[0].removesuffix("/<chargePointId>")
        host, port = "127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])
        path = "/" + url.split("/", 3)[3]
        rss = {"start": rss_mb(serve.pid)}
        good = asyncio.create_task(good_station(host, port, path, stop_good, rtts, failures))
        await asyncio.sleep(1.0)  # a baseline of the good station's latency, no fuzz
        idle_rtts = list(rtts)
        machine = MachineWindow()
        fuzz = await Child.start("fuzzer", str(BENCHMARKS / "_fuzz_load.py"), url,
                                 str(connections), str(per_connection), "--seed", str(seed))
        for quarter in ("25 %", "50 %", "75 %", "100 %"):
            await fuzz.expect("PROGRESS ", 600)
            if quarter != "100 %":
                rss[quarter] = rss_mb(serve.pid)
        result = json.loads(await fuzz.expect("RESULT ", 600))
        rss["100 %"] = rss_mb(serve.pid)  # every answer is in: all frames handled
        machine.stop()
        fuzz_rtts = rtts[len(idle_rtts):]
        stop_good.set()
        await good
    finally:
        stop_good.set()
        if fuzz is not None:
            await fuzz.close()
        if serve.proc.returncode is None:
            serve.proc.send_signal(signal.SIGINT)
        serve_rc = await serve.close()
    return {"result": result, "rss": rss, "idle_rtts": idle_rtts, "fuzz_rtts": fuzz_rtts,
            "failures": failures, "per_connection": per_connection, "machine": machine,
            "serve_rc": serve_rc}


def record_check(rec, connections: int, per_connection: int, seed: int) -> tuple[int, int, int]:
    """(frames recorded from the fuzz stations, frames not verbatim, seq gaps)."""
    by_station: dict[str, list] = {}
    for f in rec.frames:
        if f["direction"] == "in":
            by_station.setdefault(f["station"], []).append(f)
    recorded = differ = 0
    for i in range(connections):
        rows = by_station.get(f"FUZZ-{i}", [])
        recorded += len(rows)
        sent = [f.data for f in stream_frames(seed, i, per_connection, 65536)]
        sent.append('[2,"final","Heartbeat",{}]')  # run_stream's closing Heartbeat
        differ += sum(frame_raw(r) != s for r, s in zip(rows, sent, strict=False))
        differ += abs(len(rows) - len(sent))
    seqs = sorted(r["seq"] for rows in (rec.frames, rec.events, rec.measurements, rec.verdicts)
                  for r in rows)
    gaps = (seqs[-1] - len(seqs)) if seqs else 0
    return recorded, differ, gaps


def report(result, rss, idle_rtts, fuzz_rtts, failures, rec, connections, per_connection, seed,
           machine, serve_rc, load_s) -> int:
    recorded, differ, gaps = record_check(rec, connections, per_connection, seed)
    sent = result["sent"]
    print(f"## Fuzz: {sent} frames over {connections} connections (seed {seed}), "
          "endpoint = `bench serve` (records everything)\n")
    print(table(["frames sent", "seconds", "frames/s", "answers", "wrong or missing answers",
                 "links closed by the endpoint"],
                [[sent, result["seconds"], sent / result["seconds"], result["answers"],
                  result["mismatch_count"], result["closed_by_endpoint"]]]))
    print("\n### Answers by code\n")
    codes = sorted(result["codes"].items(), key=lambda kv: -kv[1])
    print(table(["answer", "count"], [[k, v] for k, v in codes], right=[False, True]))
    print("\n### The record\n")
    print(table(["frames sent", "frames recorded", "not verbatim", "seq gaps", "torn lines",
                 "read back (s)"],
                [[sent, recorded, differ, gaps, rec.torn_lines, load_s]]))
    print("\n### Endpoint RSS (MB) as the frames go in\n")
    print(table(["start", "25 %", "50 %", "75 %", "100 %"],
                [[rss["start"], rss["25 %"], rss["50 %"], rss["75 %"], rss["100 %"]]]))
    idle, busy = Summary.of(idle_rtts), Summary.of(fuzz_rtts)
    print("\n### A well-behaved station meanwhile (Heartbeat round trip, ms)\n")
    print(table(["window", "n", "p50", "p99", "max"],
                [["before the fuzz", idle.n, idle.p50, idle.p99, idle.max],
                 ["during the fuzz", busy.n, busy.p50, busy.p99, busy.max]],
                right=[False, True, True, True, True]))
    print(f"\n{machine.describe()} bench serve exited with {serve_rc}.")
    problems = result["mismatches"] + failures[:5]
    for p in problems:
        print(f"- {p}")
    ok = (not problems and differ == 0 and gaps == 0 and result["closed_by_endpoint"] == 0
          and serve_rc == 0)
    print("\nresult: " + ("every frame answered as required and recorded verbatim" if ok
                          else "PROBLEMS (see above)"))
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100_000, help="total frames (default 100000)")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as tmp:
        out = asyncio.run(run(a.frames, a.connections, a.seed, Path(tmp)))
        (run_dir,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        t0 = time.monotonic()
        rec = load_run(run_dir)
        load_s = time.monotonic() - t0
        return report(out["result"], out["rss"], out["idle_rtts"], out["fuzz_rtts"],
                      out["failures"], rec, a.connections, out["per_connection"], a.seed,
                      out["machine"], out["serve_rc"], load_s)


if __name__ == "__main__":
    sys.exit(main())

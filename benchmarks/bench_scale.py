"""Endpoint overhead and scale, against a minimal `ocpp`-package CSMS (not a test).

For N = 1, 10, 100, 500 stations sending Heartbeat and MeterValues in a closed loop (the next
CALL as soon as the answer arrives), two central systems are measured in the same run, on the
same machine, under the same load program: the bench's endpoint (schema validation and
recording on) and a minimal CSMS written with the `ocpp` package (benchmarks/_ocpp_csms.py,
its validation on by default). Each server and each load runs in its own process. Windows
alternate between the two servers and are repeated; tables give the median and the best.

    .venv/bin/python benchmarks/bench_scale.py [--stations 1 10 100 500] [--seconds 2]
                                              [--repeats 2] [--quick] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCHMARKS,
    Child,
    MachineWindow,
    median,
    process_cpu_s,
    process_peak_rss_mb,
    raise_fd_limit,
    table,
)

SERVERS = ("ours", "ocpp")
NAMES = {"ours": "bench endpoint", "ocpp": "ocpp package"}
AIM_RATIO = 2.0


@dataclass
class Window:
    """One measured window of one server."""

    throughput: float
    rtt_p50: float
    rtt_p99: float
    server_cpu_pct: float
    load_cpu_pct: float
    calls_per_cpu_s: float  # CALLs answered per CPU-second of the server: its efficiency
    steal_pct: float
    report: dict


@dataclass
class Cell:
    """All windows of one (stations, server) pair."""

    stations: int
    server: str
    windows: list[Window] = field(default_factory=list)
    peak_rss_mb: float = math.nan
    connect_s: float = math.nan

    def med(self, attr: str) -> float:
        return median([getattr(w, attr) for w in self.windows])

    def best(self, attr: str, high: bool = False) -> float:
        values = [getattr(w, attr) for w in self.windows]
        return (max if high else min)(values) if values else math.nan

    def added(self, key: str) -> float:
        return median([w.report.get(key, math.nan) for w in self.windows])


async def measure(server: Child, load: Child, seconds: float) -> Window:
    await server.send("CLEAR")
    await server.expect("OK", 10)
    machine = MachineWindow()
    cpu0, t0 = process_cpu_s(server.pid), time.monotonic()
    await load.send(f"GO {seconds}")
    result = json.loads(await load.expect("RESULT ", seconds + 90))
    cpu1, elapsed = process_cpu_s(server.pid), time.monotonic() - t0
    machine.stop()
    await server.send("REPORT")
    report = json.loads(await server.expect("REPORT ", 30))
    cpu_s = cpu1 - cpu0
    return Window(result["calls"] / result["seconds"], result["rtt_p50_ms"],
                  result["rtt_p99_ms"], 100 * cpu_s / elapsed, result["load_cpu_pct"],
                  result["calls"] / cpu_s if cpu_s > 0 else math.nan, machine.steal_pct, report)


async def run_count(n: int, seconds: float, repeats: int, pin: bool) -> dict[str, Cell]:
    """Both servers and their loads up at once; windows alternate between them."""
    cells = {s: Cell(n, s) for s in SERVERS}
    servers: dict[str, Child] = {}
    loads: dict[str, Child] = {}
    try:
        for s in SERVERS:
            servers[s] = await Child.start(f"{s} server", str(BENCHMARKS / "_servers.py"), s,
                                           cpu=0 if pin else None)
        urls = {s: await servers[s].expect("READY ", 60) for s in SERVERS}
        for s in SERVERS:
            loads[s] = await Child.start(f"load ({n} stations -> {s})",
                                         str(BENCHMARKS / "_load.py"), urls[s], str(n),
                                         "--mix", "scale", cpu=1 if pin else None)
        for s in SERVERS:
            ready = json.loads(await loads[s].expect("READY ", 180))
            cells[s].connect_s = ready["connect_s"]
        for r in range(repeats):
            order = SERVERS if r % 2 == 0 else SERVERS[::-1]
            for s in order:
                cells[s].windows.append(await measure(servers[s], loads[s], seconds))
        for s in SERVERS:
            cells[s].peak_rss_mb = process_peak_rss_mb(servers[s].pid)
    finally:
        await asyncio.gather(*(c.close() for c in loads.values()))
        await asyncio.gather(*(c.close() for c in servers.values()))
    return cells


def print_tables(cells: list[dict[str, Cell]], seconds: float, repeats: int,
                 machine: MachineWindow, fd_note: str, pin: bool) -> None:
    print(f"Closed loop: each station sends Heartbeat and MeterValues alternately, the next "
          f"CALL as soon as the answer arrives; {repeats} windows of {seconds:g} s per server "
          "and station count, alternating between the two servers; each server and each load "
          "in its own process, same load program for both. "
          f"{'Servers pinned to CPU 0, loads to CPU 1.' if pin else 'No CPU pinning.'} "
          f"{fd_note}.\n")
    rows = []
    for pair in cells:
        for s in SERVERS:
            c = pair[s]
            rows.append([c.stations, NAMES[s], f"{c.med('throughput'):.0f} "
                         f"({c.best('throughput', high=True):.0f})",
                         c.med("rtt_p50"), f"{c.med('rtt_p99'):.3f} ({c.best('rtt_p99'):.3f})",
                         f"{c.med('server_cpu_pct'):.0f}", f"{c.med('calls_per_cpu_s'):.0f}",
                         f"{c.peak_rss_mb:.0f}",
                         f"{c.med('load_cpu_pct'):.0f}",
                         f"{max(w.steal_pct for w in c.windows):.1f}"])
    print(table(["stations", "server", "throughput CALL/s median (best)", "RTT p50 (ms)",
                 "RTT p99 (ms) median (best)", "server CPU (%)", "CALLs per server CPU-s",
                 "server peak RSS (MB)", "load CPU (%)", "steal max (%)"], rows,
                [True, False, True, True, True, True, True, True, True, True]))
    print("\nserver CPU = the server process's CPU time (all threads, /proc/<pid>/stat) / wall "
          "time of the window; CALLs per server CPU-s = what the server does with the CPU it "
          "gets, the figure least disturbed by other processes on a shared machine; load CPU = "
          "the load process's (near 100%: the load, not the server, sets the pace). Peak RSS = "
          "VmHWM of the server process.")
    print(f"\n{machine.describe()}\n")

    rows = []
    for pair in cells:
        ours, theirs = pair["ours"], pair["ocpp"]
        ratio = ours.med("throughput") / theirs.med("throughput")
        best_ratio = ours.best("throughput", True) / theirs.best("throughput", True)
        p99_ok = ours.med("rtt_p99") <= theirs.med("rtt_p99")
        verdict = "met" if ratio >= AIM_RATIO and p99_ok else "NOT met"
        efficiency = ours.med("calls_per_cpu_s") / theirs.med("calls_per_cpu_s")
        rows.append([ours.stations, f"{ratio:.2f}", f"{best_ratio:.2f}", f"{efficiency:.2f}",
                     f"{ours.med('rtt_p99'):.3f} vs {theirs.med('rtt_p99'):.3f}", verdict])
    print(table(["stations", "throughput ratio (medians)", "ratio (bests)",
                 "CALLs per CPU-s ratio (medians)", "RTT p99 bench vs ocpp (ms, medians)",
                 f"aim: throughput >= {AIM_RATIO:g}x at equal or lower p99"], rows,
                [True, True, True, True, False, False]))
    print(f"\n{machine.describe()}\n")

    rows = []
    for pair in cells:
        c = pair["ours"]
        rows.append([c.stations, sum(w.report.get("answered", 0) for w in c.windows),
                     c.added("to_send_p50"), c.added("to_send_p99"), c.added("added_p50"),
                     c.added("added_p99"), max(w.report.get("added_max", math.nan)
                                               for w in c.windows),
                     c.added("record_mb")])
    print("The bench endpoint's own latency (its latency probe, in the server process): 'to "
          "send' = CALL arrival (the kernel's receive stamp: the wait in the socket for the "
          "endpoint's loop counts) -> right before the answer's send syscall (parse, validate, "
          "respond); 'added' = arrival -> send returned (includes the kernel's loopback "
          "write). Medians over the windows; max over all.\n")
    print(table(["stations", "CALLs answered", "to send p50 (ms)", "to send p99 (ms)",
                 "added p50 (ms)", "added p99 (ms)", "added max (ms)", "record at end (MB)"],
                rows))
    print(f"\n{machine.describe()}")


async def bench_main(counts: list[int], seconds: float, repeats: int, pin: bool) -> int:
    fd_note = raise_fd_limit(max(counts) + 64)  # children inherit it
    machine = MachineWindow()
    cells = [await run_count(n, seconds, repeats, pin) for n in counts]
    machine.stop()
    print_tables(cells, seconds, repeats, machine, fd_note, pin)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, nargs="+", default=[1, 10, 100, 500])
    p.add_argument("--seconds", type=float, default=2.0, help="measured time per window")
    p.add_argument("--repeats", type=int, default=2, help="windows per server and count")
    p.add_argument("--quick", action="store_true", help="1 s windows, 2 repeats")
    p.add_argument("--pin", action="store_true",
                   help="servers on CPU 0, loads on CPU 1 (needs taskset)")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.repeats = 1.0, 2
    if max(args.stations) > 1000 or args.seconds > 60 or not 1 <= args.repeats <= 10:
        p.error("bounded: at most 1000 stations, 60 s windows, 1-10 repeats")
    return asyncio.run(bench_main(args.stations, args.seconds, args.repeats, args.pin))


if __name__ == "__main__":
    sys.exit(main())

"""Timing accuracy of the bench: measured response times and intervals against injected ones.

A purpose-built station (benchmarks/_injector.py, its own process) answers the bench's CALLs
after known delays (0, 10, 100, 1000 ms) and sends MeterValues at known intervals. The bench
measures them the way a test case does: `CallResult.response_time_s` (the endpoint's socket
stamps) and the arrival stamps of the MeterValues frames (`Received.mono_ns`). The endpoint
runs in this process with schema validation and recording on.

The injector stamps what it really did with the same CLOCK_MONOTONIC (arrivals with the
kernel's receive stamp, sends right before the syscall), so each error splits into the
injector's own scheduling error and the rest (loopback transit both ways plus whatever lies
between each side's stamp and the bytes), which is what the bench adds. The endpoint stamps
the same way (bench/csms/stamps.py, transport.py); run it under load, e.g. with a busy loop
on each CPU, to see what that buys:

    for i in 1 2; do python3 -c 'while True: pass' & done   # kill them after

    .venv/bin/python benchmarks/bench_timing_accuracy.py [--quick] [--spin-us 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (
    BENCHMARKS,
    Child,
    MachineWindow,
    Summary,
    runqueue_wait_ns,
    table,
)

from bench.csms import Csms, CsmsSettings
from bench.csms.stamps import CLOCK, KernelStamps
from bench.record import RunRecord

STATION = "TIMING01"
AIM_MS = 1.0
# injected delay (ms) -> CALLs; nominal MeterValues interval (ms) -> intervals
DELAYS = {0: 150, 10: 80, 100: 20, 1000: 6}
INTERVALS = {100: 40, 1000: 6}
UNDELAYED_NS = 100_000
UNKNOWN_WAIT = 1 << 62
CONVERSION_PROBES = 300
PROBE_LEAD_MS = 5
GAP_S = (0.0, 0.02)  # random pause between CALLs: no phase lock with periodic noise


async def measure_delays(station: Any, delays: dict[int, int]) -> list[tuple[int, Any, int]]:
    """(injected ms, CallResult, this thread's runqueue wait during the CALL in ns)."""
    results = []
    for delay_ms, count in delays.items():
        for _ in range(count):
            # the CPU waits that count: around the send, and waking up for the answer (a
            # probe reads the counter shortly before the answer is due)
            rq0 = runqueue_wait_ns()
            probe = asyncio.create_task(_read_runqueue_wait_after((delay_ms - PROBE_LEAD_MS)
                                                                  / 1000))
            res = await station.call("DataTransfer", {"vendorId": "bench", "messageId": "delay",
                                                      "data": str(delay_ms)},
                                     timeout=delay_ms / 1000 + 10)
            rq1 = runqueue_wait_ns()
            if probe.done() and delay_ms > PROBE_LEAD_MS:
                rq_sent, rq_probe, probe_ns = probe.result()
                # a probe that ran after the answer arrived covers nothing: whole window
                wait = ((rq_sent - rq0) + (rq1 - rq_probe) if probe_ns < res.answered_mono_ns
                        else rq1 - rq0)
            else:
                probe.cancel()
                wait = rq1 - rq0
            if not res.ok:
                raise RuntimeError(f"injector answered a delay CALL with {res.error}")
            results.append((delay_ms, res, wait))
            await asyncio.sleep(random.uniform(*GAP_S))
    return results


async def measure_intervals(station: Any,
                            intervals: dict[int, int]) -> list[tuple[int, Any, int]]:
    """(nominal ms, Received, this thread's runqueue wait since the previous frame in ns)."""
    arrivals = []
    for interval_ms, count in intervals.items():
        station.clear_inbox()
        res = await station.call("DataTransfer", {"vendorId": "bench", "messageId": "meter",
                                                  "data": f"{interval_ms} {count + 1}"})
        if not res.ok:
            raise RuntimeError(f"injector answered a meter CALL with {res.error}")
        for k in range(count + 1):  # count + 1 frames give count intervals
            # read the CPU-wait counter shortly before the frame is due: the increase up to
            # its arrival is the wake-up for it, not the idle time in between
            if k > 0 and interval_ms > PROBE_LEAD_MS:
                await asyncio.sleep((interval_ms - PROBE_LEAD_MS) / 1000)
            before, before_ns = runqueue_wait_ns(), time.monotonic_ns()
            msg = await station.expect("MeterValues", within=interval_ms / 1000 * 3 + 5)
            # arrived before the probe read: its wake-up was not observed, count it delayed
            wait = runqueue_wait_ns() - before if msg.mono_ns > before_ns else UNKNOWN_WAIT
            arrivals.append((interval_ms, msg, wait))
    return arrivals


class GcPauses:
    """Garbage-collection pauses of this process (the endpoint's): a stamp taken right after
    one is late by it, and the scheduler does not see it."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, int, int]] = []  # (start ns, end ns, generation)
        self._start = 0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.monotonic_ns()
        else:
            self.pauses.append((self._start, time.monotonic_ns(), info["generation"]))

    def within(self, start_ns: int, end_ns: int) -> int:
        """ns of GC pause inside [start_ns, end_ns]."""
        return sum(max(0, min(b, end_ns) - max(a, start_ns)) for a, b, _ in self.pauses)

    def describe(self) -> str:
        if not self.pauses:
            return "no garbage collection in the endpoint's process during the run"
        longest = max(self.pauses, key=lambda p: p[1] - p[0])
        gen2 = sum(1 for p in self.pauses if p[2] == 2)
        return (f"{len(self.pauses)} garbage collections in the endpoint's process during the "
                f"run ({gen2} full), longest {(longest[1] - longest[0]) / 1e6:.2f} ms "
                f"(generation {longest[2]})")


async def _read_runqueue_wait_after(seconds: float) -> tuple[int, int, int]:
    """(counter once the CALL has been sent, counter after `seconds`, monotonic then)."""
    await asyncio.sleep(0)  # the CALL's send runs first
    sent = runqueue_wait_ns()
    await asyncio.sleep(max(0.0, seconds))
    return sent, runqueue_wait_ns(), time.monotonic_ns()


def injector_waits(stamps: list[dict[str, Any]], baseline: int) -> dict[str, int]:
    """msg id -> how long the injector waited for a CPU where it shifts the bench's part (ns).

    For an answer: waking up for the CALL (previous send -> arrival stamp) and sending the
    answer; not the hold itself (a late wake-up there is the injector's own error). For a
    MeterValues frame: sending it (after its send stamp)."""
    waits, last = {}, baseline
    for s in stamps:
        wake = s["rq_arrival_ns"] - last if "rq_arrival_ns" in s else 0
        waits[s["msg_id"]] = wake + s["rq_ns"] - s["rq_send_ns"]
        last = s["rq_ns"]
    return waits


def delay_rows(results: list[tuple[int, Any, int]], stamps: list[dict[str, Any]],
               rq_baseline: int, gcs: GcPauses) -> tuple[list[list[Any]], list[list[Any]]]:
    by_id = {s["msg_id"]: s for s in stamps}
    inj_wait = injector_waits(stamps, rq_baseline)
    rows, split_rows = [], []
    for delay_ms in sorted({d for d, _, _ in results}):
        total, injector, bench, clean, out, back = [], [], [], [], [], []
        for d, res, bench_wait in results:
            if d != delay_ms:
                continue
            s = by_id[res.msg_id]
            measured = res.response_time_s * 1e3
            hold = (s["send_ns"] - s["recv_ns"]) / 1e6  # what the injector really waited
            total.append(measured - delay_ms)
            injector.append(hold - delay_ms)
            bench.append(measured - hold)
            gc_ns = gcs.within(res.sent_mono_ns - 1_000_000, res.answered_mono_ns)
            if bench_wait + gc_ns + inj_wait[res.msg_id] < UNDELAYED_NS:
                clean.append(measured - hold)
            out.append((s["recv_ns"] - res.sent_mono_ns) / 1e6)
            back.append((res.answered_mono_ns - s["send_ns"]) / 1e6)
        t, i, b, c = Summary.of(total), Summary.of(injector), Summary.of(bench), Summary.of(clean)
        rows.append([delay_ms, t.n, t.p50 + delay_ms, t.p50, t.p99, t.max, i.p50, i.p99, i.max,
                     b.p50, b.p99, b.max, c.n, c.p99, c.max])
        o, k = Summary.of(out), Summary.of(back)
        split_rows.append([delay_ms, o.p50, o.p99, o.max, o.min, k.p50, k.p99, k.max])
    return rows, split_rows


def interval_rows(arrivals: list[tuple[int, Any, int]], stamps: list[dict[str, Any]],
                  rq_baseline: int, gcs: GcPauses) -> list[list[Any]]:
    by_id = {s["msg_id"]: s for s in stamps}
    inj_wait = injector_waits(stamps, rq_baseline)
    rows = []
    for interval_ms in sorted({i for i, _, _ in arrivals}):
        # (arrival stamp, injector's send stamp, bench wait up to the arrival, injector wait)
        seq = [(m.mono_ns, by_id[m.msg_id]["send_ns"], bench_wait, inj_wait[m.msg_id])
               for i, m, bench_wait in arrivals if i == interval_ms]
        total, injector, bench, clean = [], [], [], []
        for (a0, s0, b0, w0), (a1, s1, b1, w1) in itertools.pairwise(seq):
            measured = (a1 - a0) / 1e6
            sent = (s1 - s0) / 1e6
            total.append(measured - interval_ms)
            injector.append(sent - interval_ms)
            bench.append(measured - sent)
            gc_ns = gcs.within(a0 - 1_000_000, a1)
            if b0 + b1 + w0 + w1 + gc_ns < UNDELAYED_NS:  # both transits undisturbed
                clean.append(measured - sent)
        t, i, b = Summary.of(total), Summary.of(injector), Summary.of(bench)
        ab, ac = Summary.of_abs(bench), Summary.of_abs(clean)
        rows.append([interval_ms, t.n, t.p50, t.p99, t.max, i.p50, i.p99, i.max,
                     b.p50, ab.p99, ab.max, ac.n, ac.p99, ac.max])
    return rows


def clock_conversion_check(probes: int) -> list[list[Any]]:
    """The kernel's receive stamp of a byte sent on loopback, converted to CLOCK_MONOTONIC,
    against monotonic stamps read right before and right after the send syscall. On loopback
    the kernel stamps the packet inside that syscall, so a correct conversion lands inside the
    bracket; how far outside it lands is the conversion's error."""
    listener = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    stamps = KernelStamps(receiver)
    if not stamps.kernel:
        return []
    inside, outside, width = 0, [], []
    try:
        for _ in range(probes):
            before = time.monotonic_ns()
            sender.send(b"x")
            after = time.monotonic_ns()
            _, stamp = stamps.recv(receiver, 16)
            width.append((after - before) / 1e3)
            miss = max(before - stamp, stamp - after, 0)
            inside += miss == 0
            outside.append(miss / 1e3)
            time.sleep(random.uniform(0.001, 0.01))
    finally:
        for s in (sender, receiver, listener):
            s.close()
    w, o = Summary.of(width), Summary.of(outside)
    return [[probes, f"{100 * inside / probes:.1f}", o.p99, o.max, w.p50, w.p99,
             CLOCK.samples, CLOCK.worst_half_width_ns / 1e3, CLOCK.largest_step_ns / 1e3,
             CLOCK.clamped]]


async def bench_main(delays: dict[int, int], intervals: dict[int, int], spin_us: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as tmp:
        record = RunRecord.create(tmp, "bench-timing")
        csms = Csms(CsmsSettings(port=0, any_station=True, ping_interval_s=None), record)
        await csms.start()
        injector: Child | None = None
        machine = MachineWindow()
        rq_start = runqueue_wait_ns()
        try:
            injector = await Child.start("injector", str(BENCHMARKS / "_injector.py"), csms.url,
                                         STATION, "--spin-us", str(spin_us))
            ready = json.loads(await injector.expect("READY ", 60))
            inj_baseline, inj_stamps = ready["rq_ns"], ready.get("stamps", "?")
            station = await csms.wait_for_station(STATION, timeout=30)
            bench_stamp_source = station.stamp_source
            with GcPauses() as gcs:
                results = await measure_delays(station, delays)
                arrivals = await measure_intervals(station, intervals)
            machine.stop()
            rq_bench = runqueue_wait_ns() - rq_start
            injector.proc.stdin.close()  # type: ignore[union-attr]  # its cue to report
            stamps = json.loads(await injector.expect("STAMPS ", 30))
        finally:
            if injector is not None:
                await injector.close()
            await csms.stop()
            record.close("complete")
    rq_injector = (stamps["meter"] or stamps["delay"] or [{"rq_ns": inj_baseline}])[-1]["rq_ns"]
    rq_injector -= inj_baseline
    undelayed = (f"'undelayed' = samples during which neither process waited more than "
                 f"{UNDELAYED_NS / 1e3:.0f} us in total for a CPU (schedstat run_delay of the "
                 "bench's event-loop thread and of the injector's) or for the endpoint's "
                 "garbage collector (the injector runs with GC off). Hypervisor steal is "
                 "invisible per sample")
    rows, split_rows = delay_rows(results, stamps["delay"], inj_baseline, gcs)
    print(f"Response times: the bench sends DataTransfer CALLs, the injector answers each one "
          f"exactly the injected delay after its arrival stamp (asyncio sleep, then a "
          f"{spin_us} us busy wait); measured = CallResult.response_time_s. Error = measured - "
          "injected (signed, ms) = injector's scheduling error (its hold time from its own "
          "stamps - injected) + the bench's part (measured - injector hold: loopback transit "
          "both ways and what lies between each stamp and its bytes: the CALL stamped right "
          "before its send syscall, the answer by the kernel as it arrived). "
          f"{undelayed}.\n")
    print(table(["injected (ms)", "CALLs", "measured p50 (ms)", "error p50", "error p99",
                 "error max", "injector p50", "injector p99", "injector max", "bench part p50",
                 "bench part p99", "bench part max", "undelayed CALLs",
                 "bench part p99 (undelayed)", "bench part max (undelayed)"], rows))
    print(f"\n{machine.describe()} Waited for a CPU during the run: bench event loop "
          f"{rq_bench / 1e6:.0f} ms, injector {rq_injector / 1e6:.0f} ms; {gcs.describe()}.\n")
    print("Where the bench part goes (CLOCK_MONOTONIC is shared by both processes): out = "
          "CSMS 'sent' stamp (right before the send syscall) -> injector's kernel arrival stamp; "
          "back = injector's stamp right before its send syscall -> CSMS kernel arrival "
          "stamp.\n")
    print(table(["injected (ms)", "out p50 (ms)", "out p99", "out max", "out min",
                 "back p50 (ms)", "back p99", "back max"], split_rows))
    print(f"\n{machine.describe()}\n")
    irows = interval_rows(arrivals, stamps["meter"], inj_baseline, gcs)
    print("MeterValues intervals: the injector sends MeterValues due every nominal interval "
          "(from one start, no drift); measured = difference of consecutive arrival stamps "
          "(Received.mono_ns). Error = measured - nominal; injector = its send-stamp interval - "
          f"nominal; bench part = measured - injector's interval (p99 and max of |value|). "
          f"{undelayed}.\n")
    print(table(["nominal (ms)", "intervals", "error p50 (ms)", "error p99", "error max",
                 "injector p50", "injector p99", "injector max", "bench part p50",
                 "|bench part| p99", "|bench part| max", "undelayed intervals",
                 "|bench part| p99 (undelayed)", "|bench part| max (undelayed)"], irows))
    print(f"\n{machine.describe()}\n")
    conversion = clock_conversion_check(CONVERSION_PROBES)
    if conversion:
        print("Clock conversion: kernel receive stamps are CLOCK_REALTIME; the bench converts "
              "them to CLOCK_MONOTONIC with an offset sampled (bracketed by two monotonic reads) "
              "every second (bench/csms/stamps.py). Check: a byte sent on loopback, its converted "
              "kernel stamp against monotonic reads right before and after the send syscall "
              "(the kernel stamps it inside that syscall); 'outside' = how far the converted "
              "stamp fell outside that bracket (the conversion's error, us). Offset samples, "
              "their worst half-bracket and the largest offset change between two samples are "
              "this process's over the whole run.\n")
        print(table(["probes", "inside bracket %", "outside p99 (us)", "outside max (us)",
                     "bracket p50 (us)", "bracket p99 (us)", "offset samples",
                     "worst sample half-bracket (us)", "largest offset change (us)",
                     "stamps clamped"], conversion))
        print()
    else:
        print("Clock conversion: no kernel receive stamps on this platform (not checked).\n")
    print(f"Stamps: the bench's endpoint ({bench_stamp_source}); the injector ({inj_stamps}).\n")
    for label, call_col, interval_col in (("all samples", 10, 9), ("undelayed samples", 13, 12)):
        calls = [r[call_col] for r in rows if not math.isnan(r[call_col])]
        spans = [r[interval_col] for r in irows if not math.isnan(r[interval_col])]
        if not calls or not spans:
            print(f"Aim, {label}: not judged (no such samples in a group; the machine was busy).")
            continue
        worst_call, worst_interval = max(calls), max(spans)
        met = worst_call <= AIM_MS and worst_interval <= AIM_MS
        print(f"Aim, the bench's part at most {AIM_MS:g} ms at p99, {label} (groups that have "
              f"some): worst p99 {worst_call:.3f} ms (response times), {worst_interval:.3f} ms "
              f"(intervals): {'met' if met else 'NOT met'}.")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="about half the samples")
    p.add_argument("--spin-us", type=int, default=2000, help="injector's busy-wait span")
    args = p.parse_args()
    delays, intervals = dict(DELAYS), dict(INTERVALS)
    if args.quick:
        delays = {d: max(5, n // 2) for d, n in delays.items()}
        intervals = {i: max(5, n // 2) for i, n in intervals.items()}
    return asyncio.run(bench_main(delays, intervals, args.spin_us))


if __name__ == "__main__":
    sys.exit(main())

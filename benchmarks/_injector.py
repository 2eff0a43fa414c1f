"""A purpose-built station for bench_timing_accuracy.py: it answers after exact delays and
sends MeterValues at exact intervals, and stamps what it did with CLOCK_MONOTONIC.

CLOCK_MONOTONIC is one clock for every process of the machine, so its stamps compare directly
with the CSMS's. A CALL's arrival is the kernel's receive stamp (benchmarks/_stamped_client.py),
so the injector's own event loop, however late it runs, does not shift what is measured; its
send stamp is taken right before the send syscall, after a busy wait that keeps it on a CPU.
Exact waits: asyncio.sleep until `--spin-us` before the deadline, then a busy loop on
time.monotonic_ns (the event loop alone wakes up late by a scheduler tick or more).

The bench drives it with DataTransfer CALLs (vendorId "bench"):
    messageId "delay", data "<ms>"             -> Accepted, <ms> after the CALL's arrival stamp
    messageId "meter", data "<ms> <count>"     -> Accepted at once, then <count> MeterValues,
                                                  the k-th due <ms> * (k + 1) after that answer
    python benchmarks/_injector.py URL STATION_ID [--spin-us 2000]
    stdout: READY {"rq_ns": ...} (booted) ... STAMPS {"delay": [...], "meter": [...]} at stdin EOF

Stamps carry the injector thread's run_delay (time waited runnable for a CPU, ns) at the
CALL's arrival (`rq_arrival_ns`), before the send (`rq_send_ns`) and after it (`rq_ns`): the
bench tells from them whether the scheduler delayed the injector where it matters.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import runqueue_wait_ns, stdin_lines
from _stamped_client import StampedClient

_ns = time.monotonic_ns
MAX_METER_COUNT = 10_000
MAX_DELAY_MS = 60_000
ANSWER_TIMEOUT_S = 10.0


class Injector:
    def __init__(self, spin_ns: int) -> None:
        self.ws: StampedClient | None = None
        self.spin_ns = spin_ns
        self.pending: dict[str, asyncio.Future[None]] = {}
        self.delay_stamps: list[dict[str, Any]] = []
        self.meter_stamps: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def sleep_until(self, deadline_ns: int) -> None:
        coarse = deadline_ns - self.spin_ns - _ns()
        if coarse > 0:
            await asyncio.sleep(coarse / 1e9)
        while _ns() < deadline_ns:  # busy wait: the last stretch only
            pass

    def on_text(self, raw: str, arrival_ns: int, read_ns: int) -> None:
        """Each frame as it is read, with the kernel's arrival stamp."""
        frame = json.loads(raw)
        if frame[0] == 2:
            self._spawn(self.on_call(frame[1], frame[2], frame[3], arrival_ns, read_ns,
                                     runqueue_wait_ns()))
        elif frame[0] in (3, 4):
            fut = self.pending.pop(frame[1], None)
            if fut is not None and not fut.done():
                fut.set_result(None)

    def send(self, text: str) -> int:
        assert self.ws is not None
        return self.ws.send_text(text)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_call(self, msg_id: str, action: str, payload: dict[str, Any],
                      arrival_ns: int, read_ns: int, rq_arrival_ns: int) -> None:
        kind = payload.get("messageId") if action == "DataTransfer" else None
        if kind == "delay":
            delay_ms = min(float(payload["data"]), MAX_DELAY_MS)
            out = json.dumps([3, msg_id, {"status": "Accepted"}])  # built before the wait
            await self.sleep_until(arrival_ns + int(delay_ms * 1e6))
            rq_send = runqueue_wait_ns()
            send_ns = self.send(out)
            self.delay_stamps.append({"msg_id": msg_id, "delay_ms": delay_ms,
                                      "recv_ns": arrival_ns, "read_ns": read_ns,
                                      "send_ns": send_ns,
                                      "sent_ns": _ns(), "rq_arrival_ns": rq_arrival_ns,
                                      "rq_send_ns": rq_send, "rq_ns": runqueue_wait_ns()})
        elif kind == "meter":
            interval_ms, count = payload["data"].split()
            self.send(json.dumps([3, msg_id, {"status": "Accepted"}]))
            self._spawn(self.send_meter_values(float(interval_ms),
                                               min(int(count), MAX_METER_COUNT)))
        else:
            self.send(json.dumps([4, msg_id, "NotSupported", f"{action}", {}]))

    async def send_meter_values(self, interval_ms: float, count: int) -> None:
        """MeterValues due at start + k * interval: no drift, no catch-up bursts."""
        start = _ns()
        step = int(interval_ms * 1e6)
        for k in range(count):
            due = start + (k + 1) * step
            msg_id = str(uuid.uuid4())
            out = json.dumps([2, msg_id, "MeterValues", {"connectorId": 1, "meterValue": [{
                "timestamp": "2026-11-23T10:00:00Z",
                "sampledValue": [{"value": str(1000 + k), "unit": "Wh"}]}]}])
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.pending[msg_id] = fut
            await self.sleep_until(due)
            rq_send = runqueue_wait_ns()
            send_ns = self.send(out)
            self.meter_stamps.append({"msg_id": msg_id, "interval_ms": interval_ms, "k": k,
                                      "due_ns": due, "send_ns": send_ns, "sent_ns": _ns(),
                                      "rq_send_ns": rq_send, "rq_ns": runqueue_wait_ns()})
            async with asyncio.timeout(ANSWER_TIMEOUT_S):  # one CALL outstanding at a time
                await fut


async def main_async(url: str, station_id: str, spin_ns: int) -> int:
    injector = Injector(spin_ns)
    boot_answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def before_boot(raw: str, arrival_ns: int, read_ns: int) -> None:
        if not boot_answer.done():
            boot_answer.set_result(raw)

    ws = await StampedClient.connect(f"{url}/{station_id}", before_boot)
    ws.send_text(json.dumps([2, "boot", "BootNotification",
                             {"chargePointVendor": "Bench", "chargePointModel": "Injector"}]))
    async with asyncio.timeout(30):
        answer = json.loads(await boot_answer)
    if answer[0] != 3 or answer[2].get("status") != "Accepted":
        raise RuntimeError(f"BootNotification at {url}: answered {answer!r}")
    injector.ws = ws
    ws.on_text = injector.on_text
    gc.freeze()  # an instrument: no collector pauses in its stamps (bounded run)
    gc.disable()
    print("READY " + json.dumps({"rq_ns": runqueue_wait_ns(), "stamps": ws.stamps.source}),
          flush=True)
    commands = await stdin_lines()
    while await commands.get() is not None:  # until EOF: the bench is done
        pass
    for task in list(injector.tasks):
        task.cancel()
    await ws.close()
    print("STAMPS " + json.dumps({"delay": injector.delay_stamps,
                                  "meter": injector.meter_stamps}), flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("station_id")
    p.add_argument("--spin-us", type=int, default=2000,
                   help="busy-wait this long before each deadline (default 2000 us)")
    args = p.parse_args()
    return asyncio.run(main_async(args.url, args.station_id, args.spin_us * 1000))


if __name__ == "__main__":
    sys.exit(main())

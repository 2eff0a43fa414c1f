"""The fuzzing process of bench_fuzz.py: N raw connections, each a seeded mutation stream.

Runs apart from the endpoint and from the well-behaved station, so neither shares its event
loop. Connection i is station FUZZ-i and sends Mutator(seed + i, prefix f"F{i}") frames: the
parent regenerates the same frames to check the record.

    python benchmarks/_fuzz_load.py URL CONNECTIONS FRAMES_PER_CONNECTION [--seed S]
                                    [--max-frame-bytes B]
    stdout: PROGRESS <frames sent>   (each time another quarter of all frames is sent)
            RESULT {"sent": ..., "answers": ..., "codes": {...}, "mismatches": [...], ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.csms.fuzz import Mutator, StreamResult, run_stream
from bench.csms.rawws import RawWs


def stream_frames(seed: int, i: int, count: int, max_frame_bytes: int):
    """The frames of connection i, the same in the parent (for the record check)."""
    mutator = Mutator(seed + i, prefix=f"F{i}", max_frame_bytes=max_frame_bytes)
    first = mutator.every_class()
    yield from first
    for _ in range(count - len(first)):
        yield mutator.frame()


async def main_async(url: str, connections: int, per_connection: int, seed: int,
                     max_frame_bytes: int) -> int:
    parts = urlsplit(url)
    total = connections * per_connection
    marks = [total * q // 4 for q in (1, 2, 3, 4)]
    sent = 0

    def progress(_n: int) -> None:
        nonlocal sent
        sent += 1
        if marks and sent >= marks[0]:
            marks.pop(0)
            print(f"PROGRESS {sent}", flush=True)

    async def one(i: int) -> StreamResult:
        ws = await RawWs.open(parts.hostname or "127.0.0.1", parts.port or 80,
                              f"{parts.path}/FUZZ-{i}", timeout=30)
        try:
            return await run_stream(ws, stream_frames(seed, i, per_connection, max_frame_bytes),
                                    window=64, answer_timeout_s=30, on_progress=progress)
        finally:
            await ws.close()

    t0 = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(connections)))
    elapsed = time.monotonic() - t0
    codes = sum((r.codes for r in results), start=Counter())
    mismatches = [m for r in results for m in r.mismatches]
    print("RESULT " + json.dumps({
        "sent": sum(len(r.sent) for r in results), "answers": sum(r.answers for r in results),
        "codes": dict(codes), "mismatches": mismatches[:20], "mismatch_count": len(mismatches),
        "closed_by_endpoint": sum(r.close_code is not None for r in results),
        "seconds": elapsed, "per_connection_sent": [len(r.sent) for r in results]}), flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("connections", type=int)
    p.add_argument("per_connection", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-frame-bytes", type=int, default=65536)
    a = p.parse_args()
    return asyncio.run(main_async(a.url, a.connections, a.per_connection, a.seed,
                                  a.max_frame_bytes))


if __name__ == "__main__":
    sys.exit(main())

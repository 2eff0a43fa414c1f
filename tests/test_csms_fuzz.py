"""A seeded mutation fuzz of the endpoint at the wire: every frame answered as OCPP-J 1.6 says,
the connections stay up, every frame is in frames.jsonl verbatim, and seq has no gap.

The frames and the answer each one requires come from bench/csms/fuzz.py (the oracle knows the
mutation, not the endpoint); a raw websocket client (bench/csms/rawws.py) puts them on a real
loopback socket, three connections at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from test_csms_support import running_csms

from bench.csms.fuzz import Mutator, StreamResult, run_stream
from bench.csms.rawws import RawWs
from bench.record.reader import frame_raw, load_run

SEED = 20261123
CONNECTIONS = 3
FRAMES_PER_CONNECTION = 1200
MAX_FRAME_BYTES = 8192  # small, so the oversize class stays cheap


def seq_gaps(run) -> list[int]:
    seqs = sorted(r["seq"] for rows in (run.frames, run.events, run.measurements, run.verdicts)
                  for r in rows)
    return sorted(set(range(1, seqs[-1] + 1)) - set(seqs)) if seqs else []


async def test_fuzzed_frames_are_answered_recorded_verbatim_and_never_drop_the_link(tmp_path):
    async with running_csms(tmp_path, max_frame_bytes=MAX_FRAME_BYTES) as csms:
        async def fuzz(i: int) -> StreamResult:
            mutator = Mutator(SEED + i, prefix=f"F{i}", max_frame_bytes=MAX_FRAME_BYTES)
            frames = mutator.every_class() + [mutator.frame()
                                              for _ in range(FRAMES_PER_CONNECTION)]
            ws = await RawWs.open("127.0.0.1", csms.port, f"/ocpp/FUZZ-{i}")
            try:
                return await run_stream(ws, frames)
            finally:
                await ws.close()

        async with asyncio.timeout(60):
            results = await asyncio.gather(*(fuzz(i) for i in range(CONNECTIONS)))
        path = csms.record.path

    for r in results:
        assert r.mismatches == [], r.mismatches[:10]
        assert r.close_code is None
    sent_classes = {f.mutation for r in results for f in r.sent}
    assert set(Mutator(0).classes) <= sent_classes
    codes = sum((r.codes for r in results), start=Counter())
    for code in ("CALLRESULT", "FormationViolation", "ProtocolError", "NotImplemented",
                 "NotSupported", "OccurenceConstraintViolation", "TypeConstraintViolation",
                 "PropertyConstraintViolation", "GenericError"):
        assert codes[code] > 0, code
    run = load_run(path)
    # the endpoint never closed a link: each ended with the client's own close (1000)
    disconnects = [e["detail"]["reason"] for e in run.events if e["name"] == "disconnected"]
    assert len(disconnects) == CONNECTIONS
    assert all(d.startswith("closed by station: code 1000") for d in disconnects), disconnects
    assert seq_gaps(run) == [] and run.torn_lines == 0
    for i, r in enumerate(results):
        inbound = [f for f in run.frames if f["station"] == f"FUZZ-{i}" and f["direction"] == "in"]
        recorded = [frame_raw(f) for f in inbound]
        assert len(recorded) == len(r.sent)
        mismatch = next((k for k, (got, sent) in enumerate(zip(recorded, r.sent, strict=True))
                         if got != sent.data), None)
        assert mismatch is None, (r.sent[mismatch].mutation, recorded[mismatch][:200])

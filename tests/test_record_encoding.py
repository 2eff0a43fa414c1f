"""The record keeps any frame losslessly and never loses a line (so seq never has a gap)."""

from __future__ import annotations

import random

from bench.record import Direction, FrameRecord, RunRecord
from bench.record.reader import frame_raw, load_run


def awkward_texts(seed: int, n: int) -> list[str]:
    """Random strings mixing ASCII, lone surrogates and any code point, plus fixed odd ones."""
    rng = random.Random(seed)
    pick = (lambda: rng.randrange(0, 128), lambda: rng.randrange(0xD800, 0xE000),
            lambda: rng.randrange(0, 0x110000))
    texts = ['[2,"a","Heartbeat",{}]', "\ud800", "\\ud800", "\\\\", "é\x00\x1b\u202e\U0001F600", ""]
    texts += ["".join(chr(rng.choice(pick)()) for _ in range(rng.randrange(0, 30)))
              for _ in range(n)]
    return texts


def test_any_text_or_bytes_round_trips_and_seq_has_no_gap(tmp_path):
    texts = awkward_texts(7, 500)
    blobs = [b"", b"\xff\xfe\x00", bytes(range(256))]
    rec = RunRecord.create(tmp_path, "enc")
    for raw in [*texts, *blobs]:
        rec.frame(FrameRecord(1, "CP\ud800", Direction.IN, raw, 2, "\udc00id", "A\ud800"))
        rec.event("finding", "x", station="CP\ud800", message=f"saw {raw[:5]!s}")
    rec.close()
    run = load_run(rec.path)
    assert [frame_raw(f) for f in run.frames] == [*texts, *blobs]
    plain = run.frames[0]
    assert plain["raw"] == texts[0] and "raw_encoding" not in plain  # ordinary frames readable
    assert run.frames[1]["raw_encoding"] == "unicode_escape"
    assert run.frames[-1]["raw_encoding"] == "base64"
    assert run.frames[1]["msg_id"] == "\\udc00id"  # metadata: escaped, the raw is exact
    seqs = sorted(r["seq"] for r in run.frames + run.events)
    assert seqs == list(range(1, len(seqs) + 1)) and run.torn_lines == 0


def test_unserialisable_lines_and_snapshots_keep_their_place(tmp_path):
    rec = RunRecord.create(tmp_path, "enc")
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    rec.event("log", "deep", payload=deep)
    rec.event("log", "after")
    rec.snapshot("station", {"chargePointVendor": "\ud800", "deep": deep})
    rec.snapshot("other", {"vendor": "\udfff ok"})
    rec.close()
    run = load_run(rec.path)
    assert [e["seq"] for e in run.events] == [1, 2]
    assert "not serialisable" in run.events[0]["record_error"]
    assert "not serialisable" in run.snapshots["station"]["record_error"]
    assert run.snapshots["other"] == {"vendor": "\\udfff ok"}
    assert not list((rec.path / "snapshots").glob("*.tmp"))

"""A resumed run appends to its record: meta kept, sequence numbers continue, torn lines ignored."""

from __future__ import annotations

from bench.record import RunRecord
from bench.record.reader import load_run


def test_reopen_continues_sequence_after_a_torn_line(tmp_path) -> None:
    rec = RunRecord.create(tmp_path, "resume", plan="core")
    rec.event("step", "first")
    rec.event("step", "second")
    rec.close("interrupted")
    with open(rec.path / "events.jsonl", "a", encoding="utf-8") as f:
        f.write('{"seq": 99, "kind": "st')  # the process was killed mid-line

    again = RunRecord.reopen(rec.path)
    seq = again.event("step", "after resume")
    again.close("complete")

    assert seq == 3
    run = load_run(rec.path)
    assert run.meta["plan"] == "core" and run.meta["status"] == "complete"
    assert run.meta["started_utc"] == rec.meta["started_utc"]
    assert [e["detail"] for e in run.events] == [{}, {}, {}]
    assert [e["seq"] for e in run.events] == [1, 2, 3]
    assert run.torn_lines == 1

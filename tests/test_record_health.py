"""Nothing is dropped silently: record lines written after close and listeners that raised
are counted in run.json; lines of a case name its attempt."""

from __future__ import annotations

import json

from bench.record import RunRecord
from bench.record.reader import load_run


def test_late_lines_and_listener_errors_are_counted(tmp_path) -> None:
    rec = RunRecord.create(tmp_path, "health")

    def broken(kind: str, line: dict) -> None:
        raise RuntimeError("console gone")

    rec.subscribe(broken)
    rec.current_case, rec.current_attempt = "TC_003_CS", 2
    rec.event("log", "in the case")
    rec.measurement({"name": "x", "case": "TC_004_1_CS"})  # another case: no attempt of it
    rec.current_case = rec.current_attempt = None
    rec.close()
    rec.event("log", "after close")
    meta = json.loads((rec.path / "run.json").read_text("utf-8"))
    health = meta["record_health"]
    assert health["lines_after_close"] == 1
    assert health["listener_errors"] == 2  # one per line written while subscribed
    assert "RuntimeError: console gone" in health["first_listener_errors"][0]
    run = load_run(rec.path)
    assert [(e["case"], e.get("attempt")) for e in run.events + run.measurements] == [
        ("TC_003_CS", 2), ("TC_004_1_CS", None)]
    # counts go on when a resumed run reopens the record
    again = RunRecord.reopen(rec.path)
    assert again.health()["lines_after_close"] == 1
    again.close()

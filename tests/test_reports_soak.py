"""A soak record (generated) renders with capped frames, downsampled plots and its measurements."""

from __future__ import annotations

import json

from support.soakgen import CASE, write_soak_run

from bench.record.reader import load_run
from reports import build_reports
from reports.svg import MAX_POINTS


def test_one_hour_soak_report(tmp_path):
    run = write_soak_run(tmp_path, hours=1.0)
    data = load_run(run)
    assert data.meta["status"] == "complete" and data.torn_lines == 0
    assert len(data.frames) > 2000
    # realistic frames: every CALL the station sent is answered, stamps increase
    monos = [f["mono_ns"] for f in data.frames]
    assert monos == sorted(monos)
    station_calls = {f["msg_id"] for f in data.frames if f["direction"] == "in"
                     and f["msg_type"] == 2}
    answers = {f["msg_id"] for f in data.frames if f["direction"] == "out" and f["msg_type"] == 3}
    assert station_calls == answers

    html = build_reports(run).read_text("utf-8")
    section = html.split(f'id="case-{CASE}"', 1)[1].split("</section>", 1)[0]
    assert "entries omitted" in section and "frames omitted" in section
    assert "frames.jsonl" in section
    assert "Station clock offset" in section and "heartbeat.idle_gap" in section
    # every polyline is downsampled to the cap
    for chunk in html.split('points="')[1:]:
        assert chunk.split('"', 1)[0].count(",") <= MAX_POINTS * 2
    s = json.loads((run / "summary.json").read_text())
    names = {m["name"] for m in s["measurements"]}
    assert {"MeterValues sample interval connector 1", "Station clock offset",
            "heartbeat.idle_gap"} <= names
    assert "Heartbeat interval" not in names  # Heartbeat to Heartbeat: not how they are judged
    idle = next(m for m in s["measurements"] if m["name"] == "heartbeat.idle_gap")
    assert idle["outcome"] == "PASS" and idle["stats"]["max"] <= 31
    assert s["record"]["frames"] == len(data.frames)

"""One section per case: attempts, sequence chart, findings, measurements, raw frames.

A soak case holds tens of thousands of frames: the chart and the raw frames are capped to the
first and last entries, with the count left out and where the full record is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.textsafe import visible
from reports.frames import CALL, CALLERROR, TYPE_NAMES, FrameIndex, display_raw, parse_raw
from reports.measurements import PerfRow, perf_rows
from reports.plots import Plot, measurement_plot
from reports.redact import redact, redact_text
from reports.timebase import Timebase, fmt_offset
from reports.verdicts import CaseResult

CHART_HEAD, CHART_TAIL = 150, 50
RAW_HEAD, RAW_TAIL = 60, 40
OUTSIDE = "outside-cases"
CHART_EVENT_KINDS = ("verb", "finding", "connection", "safe_state", "step", "handshake")


@dataclass
class ChartRow:
    offset: str
    kind: str  # "in", "out" (frames) or an event kind
    label: str  # action / verb name
    detail: str
    msg_id: str = ""
    type_name: str = ""
    seq: int = 0
    problem: bool = False  # schema-invalid frame, CALLERROR, finding


@dataclass
class RawFrame:
    seq: int
    offset: str
    direction: str
    action: str
    schema: str
    raw: str


@dataclass
class Capped:
    head: list[Any]
    tail: list[Any]
    omitted: int
    first_omitted_seq: int | None = None
    last_omitted_seq: int | None = None


def cap(rows: list[Any], head: int, tail: int) -> Capped:
    if len(rows) <= head + tail:
        return Capped(rows, [], 0)
    left_out = rows[head:len(rows) - tail]
    return Capped(rows[:head], rows[len(rows) - tail:], len(left_out),
                  getattr(left_out[0], "seq", None), getattr(left_out[-1], "seq", None))


@dataclass
class CaseSection:
    result: CaseResult
    start_utc: str | None
    frame_count: int
    chart: Capped
    raw: Capped
    findings: list[dict[str, Any]]
    measurements: list[PerfRow]
    plots: list[Plot] = field(default_factory=list)
    earlier_frames: int = 0  # frames of earlier attempts (a killed or repeated one), not shown


def _short(value: Any, limit: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           separators=(",", ":"))
    return visible(text if len(text) <= limit else text[: limit - 1] + "…")  # station text


def _frame_row(f: dict[str, Any], index: FrameIndex, t0: int) -> ChartRow:
    mt = f.get("msg_type")
    msg = parse_raw(f.get("raw", "")) or []
    schema = str(f.get("schema") or "n/a")
    if mt == CALL:
        label = str(f.get("action") or "?")
        detail = _short(redact(msg[3])) if len(msg) > 3 else ""
    elif mt == CALLERROR:
        label = str(index.action_of_answer.get(f["seq"]) or f.get("action") or "?")
        detail = _short(msg[2:4]) if len(msg) > 3 else ""
    elif mt is None:
        label, detail = "unreadable frame", _short(redact_text(str(f.get("raw", ""))))
    else:
        label = str(index.action_of_answer.get(f["seq"]) or f.get("action") or "?")
        payload = msg[2] if len(msg) > 2 else None
        status = payload.get("status") if isinstance(payload, dict) else None
        if status is None and isinstance(payload, dict):
            status = (payload.get("idTagInfo") or {}).get("status")
        if status:
            detail = f"→ {status}"
        else:
            detail = "ok" if payload == {} else _short(redact(payload))
    if schema.startswith("invalid"):
        detail = f"{detail}  [schema {schema}]"
    return ChartRow(
        offset=fmt_offset((f["mono_ns"] - t0) / 1e9), kind=str(f.get("direction")), label=label,
        detail=detail, msg_id=str(f.get("msg_id") or ""), type_name=TYPE_NAMES.get(mt, "?"),
        seq=int(f.get("seq", 0)),
        problem=mt == CALLERROR or schema.startswith("invalid") or mt is None,
    )


def _event_row(e: dict[str, Any], t0: int) -> ChartRow:
    detail = redact(e.get("detail") or {})
    if isinstance(detail, dict):  # the case and raw stamps are in the row already
        text = ", ".join(f"{k}={_short(v, 60)}" for k, v in detail.items()
                         if k != "case" and not k.endswith("mono_ns"))
    else:
        text = _short(detail)
    kind = str(e.get("kind"))
    return ChartRow(offset=fmt_offset((e["mono_ns"] - t0) / 1e9), kind=kind,
                    label=str(e.get("name") or ""), detail=_short(text, 160),
                    seq=int(e.get("seq", 0)), problem=kind == "finding")


def case_sections(cases: list[CaseResult], frames: list[dict[str, Any]],
                  events: list[dict[str, Any]], measurements: list[dict[str, Any]],
                  index: FrameIndex, tb: Timebase) -> list[CaseSection]:
    frames_by: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for f in frames:
        frames_by[f.get("case")].append(f)
    events_by: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        events_by[e.get("case")].append(e)
    meas_by: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for m in measurements:
        meas_by[m.get("case")].append(m)

    sections = []
    for res in cases:
        # the evidence of the final attempt only; earlier ones stay in the record
        final = (res.final or {}).get("attempt")
        cf, earlier = of_attempt(frames_by.get(res.case, []), final)
        section = _section(res, cf, of_attempt(events_by.get(res.case, []), final)[0],
                           of_attempt(meas_by.get(res.case, []), final)[0], index, tb)
        section.earlier_frames = earlier
        sections.append(section)
    if frames_by.get(None) or events_by.get(None):
        # boot, connections, safe state: recorded outside any case, shown after the cases
        outside = CaseResult(OUTSIDE, "Setup and teardown (outside any test case)", "", [])
        sections.append(_section(outside, frames_by.get(None, []), events_by.get(None, []), [],
                                 index, tb))
    return sections


def of_attempt(lines: list[dict[str, Any]], attempt: Any) -> tuple[list[dict[str, Any]], int]:
    """The lines of one attempt (lines without a label, from older records, belong to all);
    and how many were left out."""
    if not isinstance(attempt, int):
        return lines, 0
    kept = [r for r in lines if r.get("attempt") in (None, attempt)]
    return kept, len(lines) - len(kept)


def _section(res: CaseResult, cf: list[dict[str, Any]], ce: list[dict[str, Any]],
             ms: list[dict[str, Any]], index: FrameIndex, tb: Timebase) -> CaseSection:
    stamps = [r["mono_ns"] for r in (cf[:1] + ce[:1]) if "mono_ns" in r]
    t0 = min(stamps) if stamps else tb.start_mono_ns
    first = min((r for r in cf[:1] + ce[:1]), key=lambda r: r["mono_ns"], default=None)
    # the chart holds frames and physical actions in time order; only capped rows are built
    merged = sorted([(f["mono_ns"], f.get("seq", 0), "f", f) for f in cf]
                    + [(e["mono_ns"], e.get("seq", 0), "e", e) for e in ce
                       if e.get("kind") in CHART_EVENT_KINDS], key=lambda t: (t[0], t[1]))
    picked = cap(merged, CHART_HEAD, CHART_TAIL)

    def row(kind: str, line: dict[str, Any]) -> ChartRow:
        return _frame_row(line, index, t0) if kind == "f" else _event_row(line, t0)

    chart = Capped(
        [row(k, r) for *_, k, r in picked.head],
        [row(k, r) for *_, k, r in picked.tail],
        picked.omitted,
        picked_seq(merged, CHART_HEAD, picked.omitted, first=True),
        picked_seq(merged, CHART_HEAD, picked.omitted, first=False),
    )
    raw_pick = cap(cf, RAW_HEAD, RAW_TAIL)
    raw = Capped([_raw(f, t0) for f in raw_pick.head], [_raw(f, t0) for f in raw_pick.tail],
                 raw_pick.omitted,
                 cf[RAW_HEAD]["seq"] if raw_pick.omitted else None,
                 cf[len(cf) - RAW_TAIL - 1]["seq"] if raw_pick.omitted else None)
    findings = [
        {"seq": e.get("seq"), "offset": fmt_offset((e["mono_ns"] - t0) / 1e9),
         "code": str(e.get("name") or ""), "detail": redact(e.get("detail") or {})}
        for e in ce if e.get("kind") == "finding"
    ]
    plots = [p for p in (measurement_plot(m, tb) for m in ms) if p is not None]
    return CaseSection(
        result=res, start_utc=first.get("utc") if first else None, frame_count=len(cf),
        chart=chart, raw=raw, findings=findings, measurements=perf_rows(ms), plots=plots,
    )


def picked_seq(merged: list[tuple], head: int, omitted: int, first: bool) -> int | None:
    if not omitted:
        return None
    return merged[head if first else head + omitted - 1][1]


def _raw(f: dict[str, Any], t0: int) -> RawFrame:
    return RawFrame(seq=int(f.get("seq", 0)), offset=fmt_offset((f["mono_ns"] - t0) / 1e9),
                    direction=str(f.get("direction")), action=str(f.get("action") or ""),
                    schema=str(f.get("schema") or ""), raw=display_raw(f))

"""OCPP frames of the record: parsed payloads, CALL/answer pairing, response times."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.record.reader import frame_raw
from bench.textsafe import visible
from reports.redact import REDACTED, SECRET_CONFIG_KEYS, redact_text

CALL, CALLRESULT, CALLERROR = 2, 3, 4
TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}


def parse_raw(raw: str) -> list[Any] | None:
    """The OCPP-J array of a frame, None when the station sent something unreadable."""
    try:
        msg = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return msg if isinstance(msg, list) and msg else None


def payload_of(frame: dict[str, Any]) -> Any:
    """The payload of a CALL (index 3) or CALLRESULT (index 2); None otherwise."""
    msg = parse_raw(frame.get("raw", ""))
    if not msg:
        return None
    if frame.get("msg_type") == CALL and len(msg) > 3:
        return msg[3]
    if frame.get("msg_type") == CALLRESULT and len(msg) > 2:
        return msg[2]
    return None


def display_raw(frame: dict[str, Any]) -> str:
    """The raw frame for people: secrets in ChangeConfiguration/handshake text masked, and
    every control, format or bidi character (NUL, BEL, ESC, U+202E...) shown as an escape."""
    original = frame_raw(frame)
    if isinstance(original, bytes):
        shown = original.decode("utf-8", "backslashreplace")
        return visible(f"(binary frame, {len(original)} bytes) {redact_text(shown)}")
    raw = original
    if frame.get("action") in ("ChangeConfiguration", "GetConfiguration"):
        low = raw.lower()
        if any(k in low for k in SECRET_CONFIG_KEYS):
            msg = parse_raw(raw)
            if msg:
                msg = _mask_config(msg)
                raw = json.dumps(msg, ensure_ascii=False)
    return visible(redact_text(raw))


def _mask_config(node: Any) -> Any:
    if isinstance(node, dict):
        secret = str(node.get("key", "")).lower() in SECRET_CONFIG_KEYS
        return {k: (REDACTED if secret and k == "value" else _mask_config(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_config(v) for v in node]
    return node


@dataclass(slots=True)
class Exchange:
    """A CALL and its answer (if any), from whichever side sent the CALL."""

    call: dict[str, Any]
    answer: dict[str, Any] | None = None

    @property
    def action(self) -> str:
        return str(self.call.get("action") or "?")

    @property
    def response_time_s(self) -> float | None:
        if self.answer is None:
            return None
        return (self.answer["mono_ns"] - self.call["mono_ns"]) / 1e9


@dataclass
class FrameIndex:
    """All frames with their CALL/answer pairing, built once per report."""

    frames: list[dict[str, Any]]
    answer_of: dict[int, dict[str, Any]] = field(default_factory=dict)  # CALL seq -> answer
    action_of_answer: dict[int, str] = field(default_factory=dict)  # answer seq -> action
    exchanges: list[Exchange] = field(default_factory=list)

    @classmethod
    def build(cls, frames: list[dict[str, Any]]) -> FrameIndex:
        idx = cls(frames)
        open_calls: dict[tuple[str, str, str], Exchange] = {}
        for f in frames:
            mt = f.get("msg_type")
            if mt == CALL:
                ex = Exchange(f)
                idx.exchanges.append(ex)
                key = (f.get("station") or "", f.get("direction") or "", str(f.get("msg_id")))
                open_calls[key] = ex
            elif mt in (CALLRESULT, CALLERROR):
                # the answer travels the other way from its CALL
                call_dir = "out" if f.get("direction") == "in" else "in"
                key = (f.get("station") or "", call_dir, str(f.get("msg_id")))
                ex = open_calls.pop(key, None)
                if ex is not None:
                    ex.answer = f
                    idx.answer_of[ex.call["seq"]] = f
                    idx.action_of_answer[f["seq"]] = ex.action
        return idx

    def bench_call_response_times(self) -> dict[str, list[float]]:
        """Station response times to the bench's CALLs, per action (measured at the socket)."""
        out: dict[str, list[float]] = defaultdict(list)
        for ex in self.exchanges:
            if ex.call.get("direction") == "out" and ex.answer is not None:
                out[ex.action].append(ex.response_time_s or 0.0)
        return dict(out)

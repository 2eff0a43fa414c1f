"""OCPP-J 1.6 framing: parse one received text frame strictly, serialise outgoing frames.

Parsing never raises: a broken frame comes back with `problem` (the CALLERROR code and text
that answer it, when a message id could be read) and `findings` (non-conformances to record).
"""

from __future__ import annotations

import json
import re
from typing import Any

from bench.csms.messages import CALL, CALLERROR, CALLRESULT, CallErrorInfo
from bench.csms.ocpp16 import schemas
from bench.csms.ocpp16.catalogue import ERROR_CODES
from bench.csms.protocol import ParsedFrame, Problem
from bench.textsafe import visible

__all__ = ["MAX_DEPTH", "MAX_MSG_ID_LEN", "ParsedFrame", "Problem", "call_frame", "error_frame",
           "parse", "recover_call_id", "recover_id_from_bytes", "result_frame"]

MAX_MSG_ID_LEN = 36
# No OCPP 1.6 message nests deeper than 6 (SetChargingProfile: frame, payload, profile,
# schedule, period list, period); deeper frames are refused before anything walks them, so
# no recursion limit is ever reached (json, schemas, the record).
MAX_DEPTH = 16
# Recovers the message id (a JSON string, escapes allowed) of a CALL whose JSON is broken or
# too deep, so it can still be answered.
_CALL_ID_RE = re.compile(r'\s*\[\s*2\s*,\s*("(?:[^"\\\x00-\x1f]|\\.){0,200}")')
# a JSON escape of a UTF-16 surrogate: only then can a parsed string hold a lone surrogate
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_dumps_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


# strict JSON: NaN, Infinity and -Infinity are refused like any other non-JSON token
_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


def _short(value: Any, limit: int = 60) -> str:
    """Station text for a description or finding: shortened, never a control character."""
    if isinstance(value, (dict, list)):
        value = type(value).__name__  # a repr could be huge; the record has the raw frame
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return visible(text)


def recover_call_id(text: str) -> str | None:
    """The message id of `[2,"<id>",...` at the start of an unparseable frame, if readable."""
    m = _CALL_ID_RE.match(text)
    if m is None:
        return None
    try:
        mid = json.loads(m.group(1))
    except ValueError:
        return None
    return mid if isinstance(mid, str) else None


def _nested_deeper(node: Any, limit: int) -> bool:
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _has_lone_surrogate(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _too_deep(raw: str) -> ParsedFrame:
    mid = recover_call_id(raw)
    return ParsedFrame(
        msg_type=CALL if mid is not None else None, msg_id=mid,
        problem=Problem("frame-too-deep", "FormationViolation",
                        f"frame nests deeper than {MAX_DEPTH} levels "
                        "(no OCPP 1.6 message nests deeper than 6)"))


def parse(raw: str) -> ParsedFrame:
    """Structure of one text frame (schema validation of the payload is the caller's job)."""
    try:
        data = _decode(raw)
    except RecursionError:
        return _too_deep(raw)
    except ValueError as e:
        mid = recover_call_id(raw)
        return ParsedFrame(
            msg_type=CALL if mid is not None else None,
            msg_id=mid,
            problem=Problem("frame-not-json", "FormationViolation",
                            f"frame is not valid JSON: {visible(str(e))}"),
        )
    # cheap trigger first: only a frame with many brackets can nest deep
    if raw.count("[") + raw.count("{") > MAX_DEPTH and _nested_deeper(data, MAX_DEPTH):
        return _too_deep(raw)
    frame = _structure(raw, data)
    if _SURROGATE_ESCAPE_RE.search(raw) and _has_lone_surrogate(data):
        frame.findings.append((
            "lone-surrogate",
            "a JSON string escapes an unpaired UTF-16 surrogate (e.g. \\ud800): no Unicode "
            "character, so no UTF-8 text (OCPP-J) can carry it; RFC 8259 §8.2 leaves its "
            "meaning open. Inferred from the escape; the frame is answered as its schema says"))
    return frame


def _structure(raw: str, data: Any) -> ParsedFrame:
    if not isinstance(data, list) or not data:
        return ParsedFrame(problem=Problem(
            "frame-not-array", "FormationViolation",
            f"frame must be a non-empty JSON array, got {_short(raw)}"))
    frame = ParsedFrame(msg_type=data[0] if type(data[0]) is int else None)
    if len(data) > 1:
        frame.msg_id = data[1]
    mt = data[0]
    if type(mt) is not int or mt not in (CALL, CALLRESULT, CALLERROR):
        frame.msg_type = None
        frame.problem = Problem("unknown-message-type", "ProtocolError",
                                f"unknown MessageTypeId {_short(mt)} "
                                "(2 CALL, 3 CALLRESULT, 4 CALLERROR)")
        return frame
    _check_msg_id(frame)
    if frame.problem:
        return frame
    if mt == CALL:
        _parse_call(frame, data)
    elif mt == CALLRESULT:
        if len(data) != 3:
            frame.problem = Problem("callresult-wrong-length", "ProtocolError",
                                    f"CALLRESULT must have 3 elements, has {len(data)}")
        else:
            frame.payload = data[2]
    else:
        _parse_callerror(frame, data)
    return frame


def _check_msg_id(frame: ParsedFrame) -> None:
    mid = frame.msg_id
    if isinstance(mid, str):
        if not mid:
            frame.findings.append(("msg-id-empty", "message id is an empty string"))
        elif len(mid) > MAX_MSG_ID_LEN:
            frame.findings.append(("msg-id-too-long",
                                   f"message id has {len(mid)} characters (max {MAX_MSG_ID_LEN})"))
    elif frame.id_readable:
        frame.findings.append(("msg-id-not-string",
                               f"message id {_short(mid)} is a number; OCPP-J requires a string"))
    else:
        frame.problem = Problem("msg-id-unreadable", "FormationViolation",
                                f"message id must be a string, got {_short(mid)}")


def _parse_call(frame: ParsedFrame, data: list[Any]) -> None:
    if len(data) != 4:
        if len(data) > 2 and isinstance(data[2], str):
            frame.action = data[2]
        frame.problem = Problem("call-wrong-length", "ProtocolError",
                                "CALL must have 4 elements [2, id, action, payload], "
                                f"has {len(data)}")
        return
    action, payload = data[2], data[3]
    if not isinstance(action, str):
        frame.problem = Problem("action-not-string", "FormationViolation",
                                f"action must be a string, got {_short(action)}")
        return
    frame.action = action
    frame.payload = payload
    if action not in schemas.all_actions():
        frame.problem = Problem("unknown-action", "NotImplemented",
                                f"action {_short(action)} does not exist in OCPP 1.6")


def _parse_callerror(frame: ParsedFrame, data: list[Any]) -> None:
    if len(data) != 5:
        frame.problem = Problem("callerror-wrong-length", "ProtocolError",
                                f"CALLERROR must have 5 elements, has {len(data)}")
        # keep what can be read so the awaiting CALL still learns it failed
        code = data[2] if len(data) > 2 and isinstance(data[2], str) else "GenericError"
        desc = data[3] if len(data) > 3 and isinstance(data[3], str) else ""
        frame.error = CallErrorInfo(code, desc, {})
        return
    code, desc, details = data[2], data[3], data[4]
    if not isinstance(code, str) or code not in ERROR_CODES:
        frame.findings.append(("callerror-unknown-code",
                               f"errorCode {_short(code)} is not an OCPP-J 1.6 error code"))
    if not isinstance(desc, str):
        frame.findings.append(("callerror-bad-description",
                               f"errorDescription must be a string, got {_short(desc)}"))
    if not isinstance(details, dict):
        frame.findings.append(("callerror-bad-details",
                               f"errorDetails must be a JSON object, got {_short(details)}"))
    frame.error = CallErrorInfo(str(code), desc if isinstance(desc, str) else str(desc),
                                details if isinstance(details, dict) else {"raw": details})


def _frame_text(frame: list[Any]) -> str:
    """JSON text of an outgoing frame. A message id echoed from the station may hold a lone
    surrogate, which has no UTF-8 form: that frame goes out with JSON \\u escapes instead, so
    the station reads back exactly the id it sent."""
    text = _dumps(frame)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _dumps_ascii(frame)
    return text


def call_frame(msg_id: str, action: str, payload: Any) -> str:
    return _frame_text([CALL, msg_id, action, payload])


def result_frame(msg_id: Any, payload: Any) -> str:
    return _frame_text([CALLRESULT, msg_id, payload])


def error_frame(msg_id: Any, code: str, description: str, details: Any = None) -> str:
    return _frame_text([CALLERROR, msg_id, code, description,
                        details if details is not None else {}])


def recover_id_from_bytes(data: bytes) -> str | None:
    """The message id of a CALL sent in a binary frame, if its first bytes read as one."""
    return recover_call_id(data[:4096].decode("utf-8", "ignore"))

"""A seeded mutation fuzzer of station frames, with the answer OCPP-J 1.6 requires for each.

Each mutation class builds a frame and states, from the OCPP-J 1.6 text (§4.2, the CALLERROR
codes) and the official JSON schemas, what the central system must answer: a CALLRESULT, a
CALLERROR with a given code (always echoing the message id the station sent, when it can be
read), or nothing (an answer, or a frame without a readable id). The oracle knows only what
the mutation did, never how the endpoint works.

    mutator = Mutator(seed=7, prefix="F1", max_frame_bytes=65536)
    frames = [mutator.frame() for _ in range(1000)]
    result = await run_stream(raw_ws, frames)    # result.mismatches must be empty

Used by tests/test_csms_fuzz.py and benchmarks/bench_fuzz.py.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.csms.rawws import CLOSE, TEXT, RawWs


@dataclass(frozen=True, slots=True)
class Expected:
    msg_id: Any  # the id the answer must carry, exactly (a str, or an int if the station sent one)
    code: str | None = None  # None: a CALLRESULT; else the CALLERROR errorCode


@dataclass(frozen=True, slots=True)
class FuzzFrame:
    mutation: str
    data: str | bytes  # what goes on the wire (bytes: a binary frame)
    expect: Expected | None  # None: the endpoint must not answer
    fragments: int = 1

    @property
    def binary(self) -> bool:
        return isinstance(self.data, bytes)


def _json(obj: Any, **kw: Any) -> str:
    """JSON text with non-ASCII kept, except a lone surrogate, which only a \\u escape carries."""
    kw.setdefault("separators", (",", ":"))
    text = json.dumps(obj, ensure_ascii=False, **kw)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, **kw)
    return text


STAMP = "2026-11-23T10:00:00Z"
STATUSES = ["Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing",
            "Reserved", "Unavailable", "Faulted"]
# printable but unusual: accents, CJK, emoji, bidi override, zero-width space, NBSP
ODD_TEXT = ["Ünïcødé", "充電器", "\U0001F50C⚡", "\u202eevil", "a\u200bb", "x\u00a0y", "ﬁ"]
# what a hostile station hides in strings; JSON escapes them (a raw control is not JSON)
HOSTILE_TEXT = ["\x1b[2J\x1b[H", "\r\n2026-01-01 forged line", "\x00\x07", "\u202e)txet(",
                "<script>alert(1)</script>", "%0D%0A", "\x1b]0;title\x07"]


class Mutator:
    """Frames of every mutation class, reproducible from the seed."""

    def __init__(self, seed: int, prefix: str = "F", max_frame_bytes: int = 65536) -> None:
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.max_frame_bytes = max_frame_bytes
        self.n = 0
        self.classes: dict[str, tuple[float, Callable[[str], FuzzFrame]]] = {
            "valid": (6, self._valid),
            "valid-odd-text": (2, self._odd_text),
            "hostile-text": (2, self._hostile_text),
            "whitespace": (1, self._whitespace),
            "duplicate-keys": (1, self._duplicate_keys),
            "fragmented": (1, self._fragmented),
            "big-integer": (1, self._big_integer),
            "numeric-id": (1, self._numeric_id),
            "long-id": (1, self._long_id),
            "empty-id": (1, self._empty_id),
            "surrogate-id": (1, self._surrogate_id),
            "surrogate-action": (1, self._surrogate_action),
            "surrogate-payload": (1, self._surrogate_payload),
            "raw-control": (1, self._raw_control),
            "truncated": (2, self._truncated),
            "not-json": (1, self._not_json),
            "nan": (1, self._nan),
            "not-array": (1, self._not_array),
            "deep-payload": (1, self._deep_payload),
            "deep-frame": (0.5, self._deep_frame),
            "unknown-type": (1, self._unknown_type),
            "wrong-length": (1, self._wrong_length),
            "action-not-string": (1, self._action_not_string),
            "unknown-action": (1, self._unknown_action),
            "wrong-direction": (1, self._wrong_direction),
            "security-event": (1, self._security_event),
            "payload-not-object": (1, self._payload_not_object),
            "schema-missing": (1, self._schema_missing),
            "schema-type": (1, self._schema_type),
            "schema-enum": (1, self._schema_enum),
            "schema-length": (1, self._schema_length),
            "schema-extra": (1, self._schema_extra),
            "schema-format": (1, self._schema_format),
            "id-unreadable": (1, self._id_unreadable),
            "answer-to-nothing": (1, self._answer_to_nothing),
            "binary-call": (1, self._binary_call),
            "binary-junk": (0.5, self._binary_junk),
            "oversize": (0.3, self._oversize),
        }
        self._names = list(self.classes)
        self._weights = [w for w, _ in self.classes.values()]

    def frame(self, mutation: str | None = None) -> FuzzFrame:
        self.n += 1
        name = mutation or self.rng.choices(self._names, self._weights)[0]
        return self._size_rule(self.classes[name][1](f"{self.prefix}-{self.n}"))

    def _size_rule(self, frame: FuzzFrame) -> FuzzFrame:
        """A text frame over the endpoint's frame limit is refused for its size first: a
        GenericError when its id can be read from its start (`[2,"<id>"`), else no answer."""
        if frame.binary or len(frame.data.encode()) <= self.max_frame_bytes:  # type: ignore[union-attr]
            return frame
        want = frame.expect
        readable = (want is not None and isinstance(want.msg_id, str)
                    and frame.data.startswith(f"[2,{_json(want.msg_id)}"))  # type: ignore[union-attr]
        return FuzzFrame(frame.mutation, frame.data,
                         Expected(want.msg_id, "GenericError") if readable and want else None,
                         frame.fragments)

    def every_class(self) -> list[FuzzFrame]:
        """One frame of each mutation class."""
        return [self.frame(name) for name in self._names]

    # -- valid CALLs the bench answers with a CALLRESULT -----------------------------------------
    def _valid_call(self) -> tuple[str, dict[str, Any]]:
        r = self.rng
        return r.choice([
            ("Heartbeat", {}),
            ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "DC-50"}),
            ("StatusNotification", {"connectorId": r.randrange(0, 3), "errorCode": "NoError",
                                    "status": r.choice(STATUSES), "timestamp": STAMP}),
            ("Authorize", {"idTag": f"{r.getrandbits(56):014X}"}),
            ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": [
                {"value": str(r.randrange(10**6)), "measurand": "Energy.Active.Import.Register",
                 "unit": "Wh"}]}]}),
            ("DataTransfer", {"vendorId": "acme", "data": "x" * r.randrange(0, 200)}),
            ("FirmwareStatusNotification", {"status": "Idle"}),
            ("DiagnosticsStatusNotification", {"status": "Idle"}),
            ("StartTransaction", {"connectorId": 1, "idTag": "04A1", "meterStart": 0,
                                  "timestamp": STAMP}),
            ("StopTransaction", {"transactionId": r.randrange(1, 10**6), "meterStop": 10,
                                 "timestamp": STAMP}),
        ])

    def _call(self, mutation: str, mid: Any, action: Any, payload: Any, code: str | None = None,
              **kw: Any) -> FuzzFrame:
        return FuzzFrame(mutation, _json([2, mid, action, payload], **kw), Expected(mid, code))

    def _valid(self, mid: str) -> FuzzFrame:
        return self._call("valid", mid, *self._valid_call())

    def _odd_text(self, mid: str) -> FuzzFrame:
        text = self.rng.choice(ODD_TEXT)
        return self._call("valid-odd-text", mid, "BootNotification",
                          {"chargePointVendor": text[:20], "chargePointModel": "M"})

    def _hostile_text(self, mid: str) -> FuzzFrame:
        data = "".join(self.rng.choices(HOSTILE_TEXT, k=3))
        return self._call("hostile-text", mid, "DataTransfer", {"vendorId": "acme", "data": data})

    def _whitespace(self, mid: str) -> FuzzFrame:
        action, payload = self._valid_call()
        text = json.dumps([2, mid, action, payload], indent=self.rng.choice([1, "\t", " \r"]))
        return FuzzFrame("whitespace", f" \n{text}\t ", Expected(mid))

    def _duplicate_keys(self, mid: str) -> FuzzFrame:
        text = (f'[2,"{mid}","BootNotification",{{"chargePointVendor":"A",'
                '"chargePointModel":"M","chargePointVendor":"B"}]')
        return FuzzFrame("duplicate-keys", text, Expected(mid))  # RFC 8259: the last one wins

    def _fragmented(self, mid: str) -> FuzzFrame:
        frame = self._call("fragmented", mid, *self._valid_call())
        return FuzzFrame("fragmented", frame.data, frame.expect, self.rng.randrange(2, 6))

    def _big_integer(self, mid: str) -> FuzzFrame:
        return self._call("big-integer", mid, "StatusNotification",
                          {"connectorId": 10**30 + self.rng.randrange(1000),
                           "errorCode": "NoError", "status": "Available"})

    def _numeric_id(self, mid: str) -> FuzzFrame:
        return self._call("numeric-id", self.rng.randrange(1, 10**12), "Heartbeat", {})

    def _long_id(self, mid: str) -> FuzzFrame:
        return self._call("long-id", mid + "x" * self.rng.randrange(37, 120), "Heartbeat", {})

    def _empty_id(self, mid: str) -> FuzzFrame:
        return self._call("empty-id", "", "Heartbeat", {})

    def _surrogate_id(self, mid: str) -> FuzzFrame:
        lone = chr(self.rng.randrange(0xD800, 0xE000))
        return self._call("surrogate-id", lone + mid, "Heartbeat", {})

    def _surrogate_action(self, mid: str) -> FuzzFrame:
        return self._call("surrogate-action", mid, "\ud800Heartbeat", {}, "NotImplemented")

    def _surrogate_payload(self, mid: str) -> FuzzFrame:
        return self._call("surrogate-payload", mid, "BootNotification",
                          {"chargePointVendor": "A\udc00", "chargePointModel": "\ud83d"})

    def _raw_control(self, mid: str) -> FuzzFrame:
        ctrl = chr(self.rng.choice([0, 7, 8, 10, 13, 27]))
        text = f'[2,"{mid}","DataTransfer",{{"vendorId":"acme","data":"a{ctrl}[2J"}}]'
        return FuzzFrame("raw-control", text, Expected(mid, "FormationViolation"))

    def _truncated(self, mid: str) -> FuzzFrame:
        text = _json([2, mid, *self._valid_call()])
        cut = self.rng.randrange(1, len(text))
        head = f'[2,"{mid}"'  # the id can be read once its closing quote is there
        expect = Expected(mid, "FormationViolation") if cut >= len(head) else None
        return FuzzFrame("truncated", text[:cut], expect)

    def _not_json(self, mid: str) -> FuzzFrame:
        junk = "".join(self.rng.choices("abcdef{}[]\",:0123 ", k=self.rng.randrange(1, 60)))
        return FuzzFrame("not-json", "x" + junk, None)

    def _nan(self, mid: str) -> FuzzFrame:
        constant = self.rng.choice(["NaN", "Infinity", "-Infinity"])
        text = f'[2,"{mid}","MeterValues",{{"connectorId":{constant},"meterValue":[]}}]'
        return FuzzFrame("nan", text, Expected(mid, "FormationViolation"))

    def _not_array(self, mid: str) -> FuzzFrame:
        text = self.rng.choice(['{"a":1}', '"text"', "42", "[]", "null", "true"])
        return FuzzFrame("not-array", text, None)

    def _deep_payload(self, mid: str) -> FuzzFrame:
        depth = self.rng.choice([15, 50, 999, 1000, self.rng.randrange(15, 5000)])
        text = f'[2,"{mid}","Heartbeat",{{"x":' + "[" * depth + "]" * depth + "}]"
        return FuzzFrame("deep-payload", text, Expected(mid, "FormationViolation"))

    def _deep_frame(self, mid: str) -> FuzzFrame:
        depth = self.rng.randrange(17, 3000)
        return FuzzFrame("deep-frame", "[" * depth + "]" * depth, None)

    def _unknown_type(self, mid: str) -> FuzzFrame:
        mt = self.rng.choice([0, 1, 5, 9, -2, 99, "2"])
        return FuzzFrame("unknown-type", _json([mt, mid, "Heartbeat", {}]),
                         Expected(mid, "ProtocolError"))

    def _wrong_length(self, mid: str) -> FuzzFrame:
        frame = self.rng.choice([[2, mid], [2, mid, "Heartbeat"], [2, mid, "Heartbeat", {}, {}]])
        return FuzzFrame("wrong-length", _json(frame), Expected(mid, "ProtocolError"))

    def _action_not_string(self, mid: str) -> FuzzFrame:
        action = self.rng.choice([12, None, ["Heartbeat"], {"a": 1}, True])
        return self._call("action-not-string", mid, action, {}, "FormationViolation")

    def _unknown_action(self, mid: str) -> FuzzFrame:
        action = "X" + "".join(self.rng.choices("abcdefghij", k=8))
        return self._call("unknown-action", mid, action, {}, "NotImplemented")

    def _wrong_direction(self, mid: str) -> FuzzFrame:
        action, payload = self.rng.choice([("Reset", {"type": "Soft"}), ("GetConfiguration", {}),
                                           ("RemoteStartTransaction", {"idTag": "04A1"})])
        return self._call("wrong-direction", mid, action, payload, "NotSupported")

    def _security_event(self, mid: str) -> FuzzFrame:  # the whitepaper's actions are taken too
        return self._call("security-event", mid, "SecurityEventNotification",
                          {"type": "FirmwareUpdated", "timestamp": STAMP})

    def _payload_not_object(self, mid: str) -> FuzzFrame:
        payload = self.rng.choice([[], "x", 1, None, [{}]])
        return self._call("payload-not-object", mid, "Heartbeat", payload, "FormationViolation")

    def _schema_missing(self, mid: str) -> FuzzFrame:
        action, payload = self.rng.choice([
            ("BootNotification", {"chargePointVendor": "Acme"}),
            ("StatusNotification", {"connectorId": 1, "status": "Available"}),
            ("Authorize", {}),
            ("StartTransaction", {"connectorId": 1, "idTag": "X", "meterStart": 0})])
        return self._call("schema-missing", mid, action, payload, "OccurenceConstraintViolation")

    def _schema_type(self, mid: str) -> FuzzFrame:
        action, payload = self.rng.choice([
            ("StatusNotification", {"connectorId": "1", "errorCode": "NoError",
                                    "status": "Available"}),
            ("BootNotification", {"chargePointVendor": 5, "chargePointModel": "M"}),
            ("Authorize", {"idTag": 12})])
        return self._call("schema-type", mid, action, payload, "TypeConstraintViolation")

    def _schema_enum(self, mid: str) -> FuzzFrame:
        payload = self.rng.choice([
            {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"},
            {"connectorId": 1, "errorCode": "Oops", "status": "Available"}])
        return self._call("schema-enum", mid, "StatusNotification", payload,
                          "PropertyConstraintViolation")

    def _schema_length(self, mid: str) -> FuzzFrame:
        action, payload = self.rng.choice([
            ("BootNotification", {"chargePointVendor": "V" * 21, "chargePointModel": "M"}),
            ("Authorize", {"idTag": "A" * 21})])
        return self._call("schema-length", mid, action, payload, "PropertyConstraintViolation")

    def _schema_extra(self, mid: str) -> FuzzFrame:
        action, payload = self.rng.choice([
            ("Heartbeat", {"x": 1}),
            ("BootNotification", {"chargePointVendor": "A", "chargePointModel": "M", "y": []})])
        return self._call("schema-extra", mid, action, payload, "FormationViolation")

    def _schema_format(self, mid: str) -> FuzzFrame:
        return self._call("schema-format", mid, "StatusNotification",
                          {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                           "timestamp": self.rng.choice(["noon", "23/11/2026", "2026-13-45"])},
                          "PropertyConstraintViolation")

    def _id_unreadable(self, mid: str) -> FuzzFrame:
        bad = self.rng.choice([None, 1.5, True, {"id": mid}, [mid]])
        return FuzzFrame("id-unreadable", _json([2, bad, "Heartbeat", {}]), None)

    def _answer_to_nothing(self, mid: str) -> FuzzFrame:
        frame = self.rng.choice([[3, mid, {}], [4, mid, "GenericError", "", {}], [3, mid],
                                 [4, mid, "NotAnErrorCode"]])
        return FuzzFrame("answer-to-nothing", _json(frame), None)  # never answer an answer

    def _binary_call(self, mid: str) -> FuzzFrame:
        text = _json([2, mid, "Heartbeat", {}])
        return FuzzFrame("binary-call", text.encode(), Expected(mid, "FormationViolation"))

    def _binary_junk(self, mid: str) -> FuzzFrame:
        return FuzzFrame("binary-junk", b"\xff" + self.rng.randbytes(self.rng.randrange(0, 300)),
                         None)

    def _oversize(self, mid: str) -> FuzzFrame:
        filler = "y" * (self.max_frame_bytes + self.rng.randrange(1, 512))
        return self._call("oversize", mid, "DataTransfer", {"vendorId": "x", "data": filler},
                          "GenericError")


# -- checking the answers ----------------------------------------------------------------------

def answer_problem(frame: FuzzFrame, answer: Any) -> str | None:
    """Why `answer` (a parsed OCPP-J array) is not what `frame` required; None if it is."""
    want = frame.expect
    if want is None:
        return f"{frame.mutation}: answered {str(answer)[:120]}, but must not be"
    if not isinstance(answer, list) or len(answer) < 3:
        return f"{frame.mutation}: answer is not an OCPP-J frame: {str(answer)[:120]}"
    mid = answer[1]
    if mid != want.msg_id or type(mid) is not type(want.msg_id):
        return f"{frame.mutation}: answer carries id {mid!r}, the CALL had {want.msg_id!r}"
    if want.code is None:
        if answer[0] != 3:
            return (f"{frame.mutation}: expected a CALLRESULT, got "
                    f"{answer[2:4] if answer[0] == 4 else answer}")
        return None
    if answer[0] != 4 or len(answer) != 5:
        return f"{frame.mutation}: expected CALLERROR {want.code}, got {str(answer)[:120]}"
    if answer[2] != want.code:
        return f"{frame.mutation}: expected CALLERROR {want.code}, got {answer[2]}: {answer[3]}"
    if not isinstance(answer[3], str) or not isinstance(answer[4], dict):
        return f"{frame.mutation}: CALLERROR description/details malformed: {answer[3:]}"
    return None


def answer_code(answer: Any) -> str:
    """'CALLRESULT' or the CALLERROR code of an answer (for tallies)."""
    if isinstance(answer, list) and answer and answer[0] == 3:
        return "CALLRESULT"
    if isinstance(answer, list) and len(answer) > 2 and answer[0] == 4:
        return str(answer[2])
    return "unreadable"


@dataclass
class StreamResult:
    sent: list[FuzzFrame] = field(default_factory=list)
    answers: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    close_code: int | None = None  # set when the endpoint closed the connection
    latencies_s: list[float] = field(default_factory=list)  # send -> answer, per answered CALL


async def run_stream(ws: RawWs, frames: Iterable[FuzzFrame], window: int = 32,
                     answer_timeout_s: float = 10.0,
                     on_progress: Callable[[int], None] | None = None) -> StreamResult:
    """Send `frames` pipelined (at most `window` answers outstanding) and check every answer
    in order against what its frame requires. Ends with a plain Heartbeat that must be
    answered: proof the connection is still up."""
    loop = asyncio.get_running_loop()
    result = StreamResult()
    pending: deque[tuple[FuzzFrame, float]] = deque()

    async def read_one() -> bool:
        try:
            opcode, payload = await ws.recv(answer_timeout_s)
        except TimeoutError:
            what = pending[0][0].mutation if pending else "nothing"
            result.mismatches.append(f"no answer within {answer_timeout_s:g} s; waiting for "
                                     f"{what}, {len(pending)} outstanding")
            return False
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            result.mismatches.append(f"connection lost: {e!r}")
            return False
        if opcode == CLOSE:
            result.close_code = ws.close_code
            result.mismatches.append(f"endpoint closed the connection (code {ws.close_code})")
            return False
        if opcode != TEXT:
            result.mismatches.append(f"endpoint sent opcode {opcode}, not a text frame")
            return True
        answer = json.loads(payload.decode("utf-8"))
        result.answers += 1
        result.codes[answer_code(answer)] += 1
        if not pending:
            result.mismatches.append(f"answer to nothing expected: {str(answer)[:120]}")
            return True
        frame, sent_at = pending[0]
        problem = answer_problem(frame, answer)
        if problem is not None and isinstance(answer, list) and len(answer) > 1 \
                and answer[1] != frame.expect.msg_id:  # type: ignore[union-attr]
            result.mismatches.append(f"answer to a frame that must not get one: "
                                     f"{str(answer)[:120]} (next expected: {frame.mutation})")
            return True
        pending.popleft()
        result.latencies_s.append(loop.time() - sent_at)
        if problem is not None:
            result.mismatches.append(problem)
        return True

    for frame in frames:
        if frame.binary:
            ws.write_binary(frame.data)  # type: ignore[arg-type]
        else:
            ws.write_text(frame.data, frame.fragments)
        result.sent.append(frame)
        if frame.expect is not None:
            pending.append((frame, loop.time()))
        if len(pending) >= window:
            await ws.drain()
            while len(pending) >= window // 2:
                if not await read_one():
                    return result
        if on_progress is not None:
            on_progress(len(result.sent))
    final = FuzzFrame("final-heartbeat", _json([2, "final", "Heartbeat", {}]),
                      Expected("final"))
    ws.write_text(final.data)
    result.sent.append(final)
    pending.append((final, loop.time()))
    await ws.drain()
    while pending:
        if not await read_one():
            break
    return result

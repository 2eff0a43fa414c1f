"""The one place a station's frame is parsed, validated, answered and recorded.

`Receiver.on_message(data, stamp_ns)` runs in the step that read the frame's last bytes
(bench/csms/connection.py), with their kernel receive stamp: parse and validate with the
link's OCPP version, answer (handed to the kernel at once), and only then write both frames
to the record and feed the station's session state (bench/csms/session.py) and its waiters.
Slower answers (delayed or async responders) run in tasks of their own.

The receiver knows the station only through `SessionPort` and the link only through
`LinkPort`: it imports neither the session API nor the server.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from typing import Any, Protocol

from bench.csms.connection import CloseInfo
from bench.csms.messages import (
    CALL,
    CALLERROR,
    CALLRESULT,
    CallErrorReply,
    Delayed,
    NoReply,
    Received,
)
from bench.csms.protocol import OcppVersion, ParsedFrame, Problem
from bench.csms.responders import Responder
from bench.csms.session import SessionState
from bench.csms.transport import Sent
from bench.record import Direction, FrameRecord, RunRecord

_monotonic_ns = time.monotonic_ns

# Close codes the bench sends when a frame breaks RFC 6455 itself; such a frame is never
# handed over, so the close code is all the record can say about it.
_LINK_FAILURES = {
    1002: ("websocket-protocol-error",
           "station broke the websocket framing (RFC 6455); connection closed with 1002"),
    1007: ("frame-not-utf8",
           "station sent a text frame that is not valid UTF-8 (RFC 6455 §8.1); "
           "connection closed with 1007"),
    1009: ("frame-too-large",
           "station sent a frame over the websocket size limit; connection closed with 1009"),
}
QUEUED_NOTE = "handed behind bytes the station had not read yet (stamped when queued)"


class OutstandingCall(Protocol):
    """A CALL of the bench an answer may belong to."""

    action: str

    @property
    def live(self) -> bool:
        """Still awaited (False: its response timeout passed: the answer is late)."""
        ...


class SessionPort(Protocol):
    """What the receive loop needs from a station's session."""

    id: str
    session: SessionState

    def responder(self, action: str) -> Responder | None: ...

    def finding(self, name: str, message: str, frame_seq: int | None = None,
                **detail: Any) -> None: ...

    def note_frame(self, direction: str, msg_type: int | None, action: str | None,
                   what: Any) -> None:
        """The short memory of recent frames (error messages say what was seen last)."""
        ...

    def deliver(self, msg: Received, size: int) -> None:
        """A station CALL for expect() and forbid() windows."""
        ...

    def awaited_call(self, link: Any, msg_id: Any) -> OutstandingCall | None: ...

    def answer_arrived(self, call: OutstandingCall, frame: ParsedFrame, mono_ns: int, seq: int,
                       verdict: str) -> None: ...


class LinkPort(Protocol):
    def send_text(self, text: str) -> Sent | None: ...


class Receiver:
    """The frames of one connection of one station."""

    def __init__(self, station: SessionPort, link: LinkPort, record: RunRecord,
                 ocpp: OcppVersion, max_frame_bytes: int,
                 latency: deque[tuple[int, int, int]] | None = None) -> None:
        self.station = station
        self.link = link
        self.record = record
        self.ocpp = ocpp
        self.sid = station.id
        self.max_bytes = max_frame_bytes
        self.latency = latency
        self.tasks: set[asyncio.Task[None]] = set()
        # arrival stamps of the last frame recorded and the last one answered: after a bench
        # error mid-frame, they say whether the frame still needs its line and its answer
        self._recorded_t = 0
        self._answered_t = 0

    def on_message(self, data: str | bytes, t: int) -> None:
        """One frame, whole: its stamp `t` is when its last bytes reached the socket."""
        try:
            if type(data) is str:
                if len(data) > self.max_bytes // 4 and len(data.encode()) > self.max_bytes:
                    self._oversized(data, t)
                else:
                    self._on_text(data, t)
            else:
                self._on_binary(data, t)  # type: ignore[arg-type]
        except Exception as e:  # a bench bug costs this frame's answer, not the link
            self._bench_fault(data, t, e)

    def closed(self, info: CloseInfo) -> str:
        """The link ended: findings for a frame that broke RFC 6455, and how it closed."""
        for task in list(self.tasks):
            task.cancel()
        sent = info.sent
        if info.failed_by_bench and sent is not None and sent.code in _LINK_FAILURES:
            self.station.finding(*_LINK_FAILURES[sent.code])
        return info.describe()

    # -- frames that cannot be processed ------------------------------------------------------
    def _reject(self, raw: str | bytes, t: int, frame: ParsedFrame, answer_id: Any = None) -> None:
        """Record a broken frame (whole) and its finding; answer a CALLERROR when an id is known."""
        problem = frame.problem
        assert problem is not None
        verdict = f"invalid: {problem.code}: {problem.description}"
        if answer_id is None and frame.id_readable and frame.msg_type in (CALL, None):
            answer_id = frame.msg_id
        out = (self.ocpp.error_frame(answer_id, problem.code, problem.description)
               if answer_id is not None else None)
        sent = self._send(out, t) if out is not None else None
        self._answered_t = t
        seq = self._record_in(raw, t, frame.msg_type, frame.msg_id, frame.action, verdict,
                              problem.finding)
        self.station.note_frame("in", frame.msg_type, frame.action, _excerpt(raw))
        self._findings(frame, seq)
        self.station.finding(problem.finding, problem.description, seq)
        if out is not None and sent is not None:
            self._record_out(sent, out, CALLERROR, answer_id, frame.action, "ok")

    def _oversized(self, raw: str, t: int) -> None:
        size = len(raw.encode())
        mid = self.ocpp.recover_call_id(raw[:4096])
        frame = ParsedFrame(msg_type=CALL if mid is not None else None, problem=Problem(
            "frame-too-large", "GenericError",
            f"frame of {size} bytes exceeds the limit of {self.max_bytes} bytes"))
        self._reject(raw, t, frame, mid)

    def _on_binary(self, data: bytes, t: int) -> None:
        frame = ParsedFrame(problem=Problem(
            "binary-frame", "FormationViolation", "OCPP-J frames must be text frames, got binary"))
        self._reject(data, t, frame, self.ocpp.recover_id_from_bytes(data))

    def _bench_fault(self, data: str | bytes, t: int, error: Exception) -> None:
        """A bench error while handling one frame: the frame still gets its line in the record
        and, if it is a CALL with a readable id and went unanswered, an InternalError."""
        self.record.event("log", "frame-handling-error", station=self.sid, error=repr(error)[:500])
        try:
            frame = self.ocpp.parse(data) if type(data) is str else ParsedFrame()
        except Exception:  # parse is total; if it is not, the line still gets written
            frame = ParsedFrame()
        if self._recorded_t != t:
            self._record_in(data, t, frame.msg_type,
                            frame.msg_id if frame.id_readable else None, frame.action, "n/a",
                            f"bench error while handling: {error!r}"[:300])
        if self._answered_t != t and frame.msg_type == CALL and frame.id_readable:
            self._answered_t = t
            out = self.ocpp.error_frame(frame.msg_id, "InternalError",
                                        "the bench failed while handling this CALL")
            sent = self._send(out, t)
            if sent is not None:
                self._record_out(sent, out, CALLERROR, frame.msg_id, frame.action, "ok")

    # -- text frames -------------------------------------------------------------------------
    def _on_text(self, raw: str, t: int) -> None:
        frame = self.ocpp.parse(raw)
        if frame.problem is not None:
            if frame.msg_type in (CALLRESULT, CALLERROR):
                # never answer an answer; a readable CALLERROR still ends the awaiting CALL
                self._on_answer(raw, t, frame)
                return
            self._reject(raw, t, frame)
            return
        if frame.msg_type == CALL:
            self._on_call(raw, t, frame)
        else:
            self._on_answer(raw, t, frame)

    def _on_call(self, raw: str, t: int, frame: ParsedFrame) -> None:
        action: str = frame.action  # type: ignore[assignment]
        payload = frame.payload
        verdict = "ok"
        reply: Any
        violation = self.ocpp.check_request(action, payload)
        if violation is not None:
            verdict = violation.verdict
            reply = CallErrorReply(violation.code, violation.message)
            frame.findings.append(("schema-violation",
                                   f"{action}: {violation.code}: {violation.message}"))
        elif not self.ocpp.initiated_by_station(action):
            reply = CallErrorReply("NotSupported",
                                   f"{action} is sent by a central system, not a station")
            frame.findings.append(("action-wrong-direction",
                                   f"station sent {action}, which the central system initiates"))
        else:
            fn = self.station.responder(action)
            if fn is None:
                reply = CallErrorReply("NotSupported", f"the bench does not take {action}")
            else:
                try:
                    reply = fn(payload)
                except Exception as e:  # a responder bug must not kill the loop
                    self.record.event("log", "responder-error", station=self.sid, action=action,
                                      error=repr(e))
                    reply = CallErrorReply("InternalError", f"bench responder for {action} failed")
        if type(reply) is dict or isinstance(reply, CallErrorReply):
            out = self._answer_frame(frame, reply)
            sent = self._send(out, t)
            self._answered_t = t
            self._finish_call(raw, t, frame, verdict, reply, out, sent)
            return
        self._answered_t = t  # answered later (or never) on purpose
        # slow path: record the CALL now, answer later (or never)
        later = isinstance(reply, Delayed) or inspect.isawaitable(reply)
        msg = self._finish_call(raw, t, frame, verdict, reply, None, None, settled=not later)
        if later:
            task = asyncio.create_task(self._answer_later(frame, reply, msg))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _answer_frame(self, frame: ParsedFrame, reply: Any) -> str:
        if isinstance(reply, CallErrorReply):
            return self.ocpp.error_frame(frame.msg_id, reply.code, reply.description,
                                         reply.details)
        return self.ocpp.result_frame(frame.msg_id, reply)

    async def _answer_later(self, frame: ParsedFrame, reply: Any, msg: Received | None) -> None:
        answered: Any = None
        try:
            if isinstance(reply, Delayed):
                await asyncio.sleep(reply.seconds)
                reply = reply.reply
            if inspect.isawaitable(reply):
                reply = await reply
            if isinstance(reply, NoReply):
                return
            out = self._answer_frame(frame, reply)
            sent = self._send(out, None)
            if sent is not None:
                self._record_answer(frame, reply, out, sent)
                answered = reply
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.record.event("log", "responder-error", station=self.sid, action=frame.action,
                              error=repr(e))
        finally:
            if msg is not None:
                self.station.session.station_call(msg, answered)

    def _finish_call(self, raw: str, t: int, frame: ParsedFrame, verdict: str, reply: Any,
                     out: str | None, sent: Sent | None, settled: bool = True) -> Received | None:
        """After the answer left: record both frames, feed the session (off the latency path).
        settled=False: the answer comes later and feeds the session then."""
        note = None
        if out is None:
            note = ("no answer (responder: NoReply)" if isinstance(reply, NoReply)
                    else "answer delayed")
        elif sent is None:
            note = "answer not sent: connection closed"
        seq = self._record_in(raw, t, CALL, frame.msg_id, frame.action, verdict, note)
        station = self.station
        station.note_frame("in", CALL, frame.action, frame.payload)
        if out is not None and sent is not None:
            self._record_answer(frame, reply, out, sent)
        if frame.findings:
            self._findings(frame, seq)
        action: str = frame.action  # type: ignore[assignment]
        payload = frame.payload
        if not isinstance(payload, dict):
            return None
        msg = Received(action, payload, frame.msg_id, t, seq, verdict, self.sid)
        station.deliver(msg, len(raw))
        if settled:
            answered = reply if out is not None and sent is not None else None
            station.session.station_call(msg, answered)
        return msg

    def _record_answer(self, frame: ParsedFrame, reply: Any, out: str, sent: Sent) -> None:
        action: str = frame.action  # type: ignore[assignment]
        if isinstance(reply, CallErrorReply):
            self._record_out(sent, out, CALLERROR, frame.msg_id, action, "ok")
            self.station.note_frame("out", CALLERROR, action, reply.code)
            return
        v = self.ocpp.check_response(action, reply)
        self._record_out(sent, out, CALLRESULT, frame.msg_id, action,
                         "ok" if v is None else v.verdict)
        self.station.note_frame("out", CALLRESULT, action, reply)

    # -- answers to the bench's CALLs ------------------------------------------------------------
    def _on_answer(self, raw: str, t: int, frame: ParsedFrame) -> None:
        station = self.station
        mid = frame.msg_id
        call = station.awaited_call(self.link, mid)
        matched = call is not None and call.live
        action = call.action if call is not None else None
        verdict = "ok"
        if frame.problem is not None:
            verdict = f"invalid: {frame.problem.code}: {frame.problem.description}"
        elif frame.msg_type == CALLRESULT and action is not None:
            v = self.ocpp.check_response(action, frame.payload)
            if v is not None:
                verdict = v.verdict
                frame.findings.append(("callresult-schema-violation",
                                       f"{action} answer: {v.code}: {v.message}"))
        note = None
        if not matched:
            note = "late answer (after timeout)" if action else "answer to no pending CALL"
        seq = self._record_in(raw, t, frame.msg_type, mid, action, verdict, note)
        station.note_frame("in", frame.msg_type, action,
                           frame.payload if frame.error is None else frame.error.code)
        if frame.problem is not None:
            station.finding(frame.problem.finding, frame.problem.description, seq)
        self._findings(frame, seq)
        if call is None:
            kind = "CALLRESULT" if frame.msg_type == CALLRESULT else "CALLERROR"
            station.finding("unexpected-answer",
                            f"{kind} for msg id {mid!r}, which the bench never asked or "
                            "already had answered", seq)
            return
        if not matched:
            station.finding("late-answer", f"answer to {action} (msg id {mid}) after the "
                            "bench's response timeout", seq)
        station.answer_arrived(call, frame, t, seq, verdict)

    # -- helpers ------------------------------------------------------------------------------
    def _findings(self, frame: ParsedFrame, seq: int) -> None:
        for name, message in frame.findings:
            self.station.finding(name, message, seq)

    def _send(self, out: str, arrival_t: int | None) -> Sent | None:
        """Hand a frame to the kernel; None when the link is closed."""
        sent = self.link.send_text(out)
        if sent is not None and arrival_t is not None and self.latency is not None:
            self.latency.append((arrival_t, sent.stamp_ns, _monotonic_ns()))
        return sent

    def _record_in(self, raw: str | bytes, t: int, msg_type: int | None, msg_id: Any,
                   action: str | None, verdict: str, note: str | None) -> int:
        seq = self.record.frame(FrameRecord(t, self.sid, Direction.IN, raw, msg_type,
                                            _id_text(msg_id), action, verdict, note))
        self._recorded_t = t
        self.station.session.station_pdu(t, seq, msg_type, action)
        return seq

    def _record_out(self, sent: Sent, out: str, msg_type: int, msg_id: Any, action: str | None,
                    verdict: str) -> int:
        note = QUEUED_NOTE if sent.pending is not None else None
        return self.record.frame(FrameRecord(sent.stamp_ns, self.sid, Direction.OUT, out,
                                             msg_type, _id_text(msg_id), action, verdict, note))


def _id_text(msg_id: Any) -> str | None:
    return msg_id if msg_id is None or isinstance(msg_id, str) else str(msg_id)


def _excerpt(raw: str | bytes) -> str:
    """A short, printable piece of a frame for error messages (the record has it whole)."""
    if isinstance(raw, bytes):
        return f"<binary frame, {len(raw)} bytes>"
    return raw if len(raw) <= 80 else raw[:77] + "..."

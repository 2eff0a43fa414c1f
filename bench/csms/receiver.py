"""The receive loop of one station connection: stamp, parse, validate, answer, record.

Hot path (a station CALL with a plain responder): stamp as the library hands the message
over, parse, validate, answer, hand the answer to the socket, and only then write both
frames to the record and feed the session. Everything slower (delayed or async responders)
runs in its own task so the loop keeps reading.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.csms import framing, schemas
from bench.csms.framing import ParsedFrame
from bench.csms.messages import (
    CALL,
    CALLERROR,
    CALLRESULT,
    CallErrorReply,
    Delayed,
    NoReply,
    Received,
)
from bench.csms.station import Station
from bench.record import Direction, FrameRecord

_monotonic_ns = time.monotonic_ns

# Close codes the websocket library sends when a frame breaks RFC 6455 itself; the frame is
# never handed over, so the close code is all the record can say about it.
_LIBRARY_CLOSES = {
    1002: ("websocket-protocol-error",
           "station broke the websocket framing (RFC 6455); connection closed with 1002"),
    1007: ("frame-not-utf8",
           "station sent a text frame that is not valid UTF-8 (RFC 6455 §8.1); "
           "connection closed with 1007"),
    1009: ("frame-too-large",
           "station sent a frame over the websocket size limit; connection closed with 1009"),
}


class Receiver:
    def __init__(self, station: Station, ws: ServerConnection,
                 latency: deque[tuple[int, int, int]] | None = None) -> None:
        self.station = station
        self.ws = ws
        self.record = station._record
        self.sid = station.id
        self.max_bytes = station.settings.max_frame_bytes
        self.latency = latency
        self.tasks: set[asyncio.Task[None]] = set()
        self._handing_ns = 0  # stamp taken just before the last send call
        # arrival stamps of the last frame recorded and the last one answered: after a bench
        # error mid-frame, they say whether the frame still needs its line and its answer
        self._recorded_t = 0
        self._answered_t = 0

    async def run(self) -> str:
        """Serve until the connection closes; returns how it closed."""
        ws = self.ws
        recv = ws.recv
        try:
            while True:
                data = await recv()
                t = _monotonic_ns()
                try:
                    if type(data) is str:
                        if len(data) > self.max_bytes // 4 and len(data.encode()) > self.max_bytes:
                            await self._oversized(data, t)
                        else:
                            await self._on_text(data, t)
                    else:
                        await self._on_binary(data, t)
                except ConnectionClosed:
                    raise
                except Exception as e:  # a bench bug costs this frame's answer, not the link
                    await self._bench_fault(data, t, e)
        except ConnectionClosed as e:
            rcvd = e.rcvd
            if e.sent is not None and e.sent.code in _LIBRARY_CLOSES:  # we failed the link
                self.station.finding(*_LIBRARY_CLOSES[e.sent.code])
            if rcvd is not None:
                return f"closed by station: code {rcvd.code} {rcvd.reason!r}".rstrip()
            if e.sent is not None:
                return f"closed by bench: code {e.sent.code} {e.sent.reason!r}"
            return "connection lost without close handshake"
        finally:
            for task in list(self.tasks):
                task.cancel()

    # -- frames that cannot be processed ------------------------------------------------------
    async def _reject(self, raw: str | bytes, t: int, frame: ParsedFrame,
                      answer_id: Any = None) -> None:
        """Record a broken frame (whole) and its finding; answer a CALLERROR when an id is known."""
        problem = frame.problem
        assert problem is not None
        verdict = f"invalid: {problem.code}: {problem.description}"
        if answer_id is None and frame.id_readable and frame.msg_type in (CALL, None):
            answer_id = frame.msg_id
        out = (framing.error_frame(answer_id, problem.code, problem.description)
               if answer_id is not None else None)
        sent_ns = await self._send(out) if out is not None else None
        self._answered_t = t
        seq = self.record.frame(FrameRecord(t, self.sid, Direction.IN, raw, frame.msg_type,
                                            _id_text(frame.msg_id), frame.action, verdict,
                                            note=problem.finding))
        self._recorded_t = t
        self.station.recent.append(("in", frame.msg_type, frame.action, _excerpt(raw)))
        self._findings(frame, seq)
        self.station.finding(problem.finding, problem.description, seq)
        if out is not None and sent_ns is not None:
            self.record.frame(FrameRecord(sent_ns, self.sid, Direction.OUT, out, CALLERROR,
                                          _id_text(answer_id), frame.action, "ok"))

    async def _oversized(self, raw: str, t: int) -> None:
        size = len(raw.encode())
        mid = framing.recover_call_id(raw[:4096])
        frame = ParsedFrame(msg_type=CALL if mid is not None else None, problem=framing.Problem(
            "frame-too-large", "GenericError",
            f"frame of {size} bytes exceeds the limit of {self.max_bytes} bytes"))
        await self._reject(raw, t, frame, mid)

    async def _on_binary(self, data: bytes, t: int) -> None:
        frame = ParsedFrame(problem=framing.Problem(
            "binary-frame", "FormationViolation", "OCPP-J frames must be text frames, got binary"))
        await self._reject(data, t, frame, framing.recover_id_from_bytes(data))

    async def _bench_fault(self, data: str | bytes, t: int, error: Exception) -> None:
        """A bench error while handling one frame: the frame still gets its line in the record
        and, if it is a CALL with a readable id and went unanswered, an InternalError."""
        self.record.event("log", "frame-handling-error", station=self.sid, error=repr(error)[:500])
        try:
            frame = framing.parse(data) if type(data) is str else ParsedFrame()
        except Exception:  # parse is total; if it is not, the line still gets written
            frame = ParsedFrame()
        if self._recorded_t != t:
            self.record.frame(FrameRecord(t, self.sid, Direction.IN, data, frame.msg_type,
                                          _id_text(frame.msg_id) if frame.id_readable else None,
                                          frame.action, "n/a",
                                          note=f"bench error while handling: {error!r}"[:300]))
            self._recorded_t = t
        if self._answered_t != t and frame.msg_type == CALL and frame.id_readable:
            self._answered_t = t
            out = framing.error_frame(frame.msg_id, "InternalError",
                                      "the bench failed while handling this CALL")
            sent_ns = await self._send(out)
            if sent_ns is not None:
                self.record.frame(FrameRecord(sent_ns, self.sid, Direction.OUT, out, CALLERROR,
                                              _id_text(frame.msg_id), frame.action, "ok"))

    # -- text frames -------------------------------------------------------------------------
    async def _on_text(self, raw: str, t: int) -> None:
        frame = framing.parse(raw)
        if frame.problem is not None:
            if frame.msg_type in (CALLRESULT, CALLERROR):
                # never answer an answer; a readable CALLERROR still ends the awaiting CALL
                self._on_answer(raw, t, frame)
                return
            await self._reject(raw, t, frame)
            return
        if frame.msg_type == CALL:
            await self._on_call(raw, t, frame)
        else:
            self._on_answer(raw, t, frame)

    async def _on_call(self, raw: str, t: int, frame: ParsedFrame) -> None:
        station = self.station
        action: str = frame.action  # type: ignore[assignment]
        payload = frame.payload
        verdict = "ok"
        reply: Any
        violation = schemas.check_request(action, payload)
        if violation is not None:
            verdict = violation.verdict
            reply = CallErrorReply(violation.code, violation.message)
            frame.findings.append(("schema-violation",
                                   f"{action}: {violation.code}: {violation.message}"))
        elif action not in schemas.STATION_ACTIONS:
            reply = CallErrorReply("NotSupported",
                                   f"{action} is sent by a central system, not a station")
            frame.findings.append(("action-wrong-direction",
                                   f"station sent {action}, which the central system initiates"))
        else:
            fn = station.responders.lookup(action)
            if fn is None:
                reply = CallErrorReply("NotSupported", f"the bench does not take {action}")
            else:
                try:
                    reply = fn(payload)
                except Exception as e:  # a responder bug must not kill the loop
                    self.record.event("log", "responder-error", station=self.sid, action=action,
                                      error=repr(e))
                    reply = CallErrorReply("InternalError", f"bench responder for {action} failed")
        if type(reply) is dict:
            out = framing.result_frame(frame.msg_id, reply)
            sent_ns = await self._send(out)
            self._answered_t = t
            self._finish_call(raw, t, frame, verdict, reply, out, sent_ns)
            return
        if isinstance(reply, CallErrorReply):
            out = framing.error_frame(frame.msg_id, reply.code, reply.description, reply.details)
            sent_ns = await self._send(out)
            self._answered_t = t
            self._finish_call(raw, t, frame, verdict, reply, out, sent_ns)
            return
        self._answered_t = t  # answered later (or never) on purpose
        # slow path: record the CALL now, answer later (or never)
        self._finish_call(raw, t, frame, verdict, reply, None, None)
        if isinstance(reply, Delayed) or inspect.isawaitable(reply):
            task = asyncio.create_task(self._answer_later(frame, reply))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _answer_later(self, frame: ParsedFrame, reply: Any) -> None:
        try:
            if isinstance(reply, Delayed):
                await asyncio.sleep(reply.seconds)
                reply = reply.reply
            if inspect.isawaitable(reply):
                reply = await reply
            if isinstance(reply, NoReply):
                return
            if isinstance(reply, CallErrorReply):
                out = framing.error_frame(frame.msg_id, reply.code, reply.description,
                                          reply.details)
            else:
                out = framing.result_frame(frame.msg_id, reply)
            sent_ns = await self._send(out)
            if sent_ns is not None:
                self._record_answer(frame, reply, out, sent_ns)
                self.station._observe(frame.action, frame.payload, reply)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.record.event("log", "responder-error", station=self.sid, action=frame.action,
                              error=repr(e))

    def _finish_call(self, raw: str, t: int, frame: ParsedFrame, verdict: str, reply: Any,
                     out: str | None, sent_ns: int | None) -> None:
        """After the answer left: record both frames, feed the session (off the latency path)."""
        if sent_ns is not None and self.latency is not None:
            self.latency.append((t, self._handing_ns, sent_ns))
        station = self.station
        note = None
        if out is None:
            note = ("no answer (responder: NoReply)" if isinstance(reply, NoReply)
                    else "answer delayed")
        elif sent_ns is None:
            note = "answer not sent: connection closed"
        seq = self.record.frame(FrameRecord(t, self.sid, Direction.IN, raw, CALL,
                                            _id_text(frame.msg_id), frame.action, verdict, note))
        self._recorded_t = t
        station.recent.append(("in", CALL, frame.action, frame.payload))
        if out is not None and sent_ns is not None:
            self._record_answer(frame, reply, out, sent_ns)
        if frame.findings:
            self._findings(frame, seq)
        action: str = frame.action  # type: ignore[assignment]
        payload = frame.payload
        if isinstance(payload, dict):
            msg = Received(action, payload, frame.msg_id, t, seq, verdict, self.sid)
            for window in station.mailbox.deliver(msg, len(raw)):
                station.finding("forbidden-message",
                                f"{action} arrived in a window that forbids {window.describe()}",
                                seq, window=window.describe())
            if verdict == "ok" and (out is not None and sent_ns is not None):
                station._observe(action, payload, reply)

    def _record_answer(self, frame: ParsedFrame, reply: Any, out: str, sent_ns: int) -> None:
        action: str = frame.action  # type: ignore[assignment]
        if isinstance(reply, CallErrorReply):
            self.record.frame(FrameRecord(sent_ns, self.sid, Direction.OUT, out, CALLERROR,
                                          _id_text(frame.msg_id), action, "ok"))
            self.station.recent.append(("out", CALLERROR, action, reply.code))
            return
        v = schemas.check_response(action, reply)
        verdict = "ok" if v is None else v.verdict
        self.record.frame(FrameRecord(sent_ns, self.sid, Direction.OUT, out, CALLRESULT,
                                      _id_text(frame.msg_id), action, verdict))
        self.station.recent.append(("out", CALLRESULT, action, reply))

    # -- answers to the bench's CALLs ------------------------------------------------------------
    def _on_answer(self, raw: str, t: int, frame: ParsedFrame) -> None:
        station = self.station
        pending = station.pending
        mid = frame.msg_id
        matched = (pending is not None and pending.ws is self.ws and not pending.future.done()
                   and mid is not None and str(mid) == pending.msg_id)
        action = pending.action if matched and pending else station.timed_out.get(str(mid))
        verdict = "ok"
        if frame.problem is not None:
            verdict = f"invalid: {frame.problem.code}: {frame.problem.description}"
        elif frame.msg_type == CALLRESULT and action is not None:
            v = schemas.check_response(action, frame.payload)
            if v is not None:
                verdict = v.verdict
                frame.findings.append(("callresult-schema-violation",
                                       f"{action} answer: {v.code}: {v.message}"))
        note = None
        if not matched:
            note = "late answer (after timeout)" if action else "answer to no pending CALL"
        seq = self.record.frame(FrameRecord(t, self.sid, Direction.IN, raw, frame.msg_type,
                                            _id_text(mid), action, verdict, note))
        self._recorded_t = t
        station.recent.append(("in", frame.msg_type, action,
                               frame.payload if frame.error is None else frame.error.code))
        if frame.problem is not None:
            station.finding(frame.problem.finding, frame.problem.description, seq)
        self._findings(frame, seq)
        if not matched:
            if action:
                station.finding("late-answer", f"answer to {action} (msg id {mid}) after the "
                                "bench's response timeout", seq)
            else:
                kind = "CALLRESULT" if frame.msg_type == CALLRESULT else "CALLERROR"
                station.finding("unexpected-answer",
                                f"{kind} for msg id {mid!r}, which the bench never asked or "
                                "already had answered", seq)
            return
        assert pending is not None
        pending.future.set_result((frame, t, seq, verdict))

    # -- helpers ------------------------------------------------------------------------------
    def _findings(self, frame: ParsedFrame, seq: int) -> None:
        for name, message in frame.findings:
            self.station.finding(name, message, seq)

    async def _send(self, out: str) -> int | None:
        """Hand a frame to the socket; returns the stamp taken right after, None if closed."""
        self._handing_ns = _monotonic_ns()
        try:
            await self.ws.send(out)
        except ConnectionClosed:
            return None
        return _monotonic_ns()


def _id_text(msg_id: Any) -> str | None:
    return msg_id if msg_id is None or isinstance(msg_id, str) else str(msg_id)


def _excerpt(raw: str | bytes) -> str:
    """A short, printable piece of a frame for error messages (the record has it whole)."""
    if isinstance(raw, bytes):
        return f"<binary frame, {len(raw)} bytes>"
    return raw if len(raw) <= 80 else raw[:77] + "..."


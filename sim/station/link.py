"""One websocket connection to the CSMS: OCPP-J CALLs both ways over it."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from sim.station.ocppj import (
    CALL,
    CALLERROR,
    CALLRESULT,
    CallError,
    call_frame,
    error_frame,
    result_frame,
)

log = logging.getLogger(__name__)

# handler(action, payload) -> payload to answer, or None to leave the CALL unanswered
CallHandler = Callable[[str, Any], Awaitable[dict | None]]
# rewrite(action, payload) -> the payload put on the wire (fault profiles that deform it)
Rewrite = Callable[[str, dict], dict]


class LinkDown(Exception):
    """The connection to the CSMS is gone (or was never there)."""


class PeerError(Exception):
    """The CSMS answered our CALL with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str) -> None:
        super().__init__(f"{action}: CSMS answered CALLERROR {code} {description!r}")
        self.code = code


class CallTimeout(Exception):
    def __init__(self, action: str, msg_id: str, timeout: float, url: str) -> None:
        super().__init__(f"{action} (id {msg_id}): no answer from the CSMS at {url} "
                         f"within {timeout:.1f} s")


class Link:
    """CALLs we send are serialised (one outstanding at a time, as OCPP-J asks)."""

    def __init__(self, ws: ClientConnection, url: str, on_call: CallHandler,
                 call_timeout: float, rewrite: Rewrite | None = None) -> None:
        self.ws, self.url, self.on_call, self.call_timeout = ws, url, on_call, call_timeout
        self.rewrite = rewrite
        self._pending: dict[str, tuple[str, asyncio.Future]] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self.closed = asyncio.Event()
        self.last_activity = asyncio.get_running_loop().time()
        self.last_sent: float | None = None  # loop time of the last frame we sent

    def touch(self) -> None:
        self.last_activity = asyncio.get_running_loop().time()

    async def _send(self, text: str) -> None:
        if self.closed.is_set():
            raise LinkDown(f"connection to {self.url} is closed")
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise LinkDown(f"connection to {self.url} closed: {exc}") from exc
        self.touch()
        self.last_sent = self.last_activity

    async def call(self, action: str, payload: dict, wait_s: float | None = None) -> dict:
        """Send a CALL, return the CALLRESULT payload; PeerError, CallTimeout or LinkDown."""
        async with self._lock:
            msg_id = str(uuid.uuid4())
            fut: asyncio.Future = asyncio.get_running_loop().create_future()
            self._pending[msg_id] = (action, fut)
            if self.rewrite is not None:
                payload = self.rewrite(action, payload)
            try:
                await self._send(call_frame(msg_id, action, payload))
                waiter = asyncio.ensure_future(fut)
                closed = asyncio.ensure_future(self.closed.wait())
                limit = self.call_timeout if wait_s is None else wait_s
                done, _ = await asyncio.wait({waiter, closed}, timeout=limit,
                                             return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                if waiter in done:
                    return waiter.result()
                waiter.cancel()
                if self.closed.is_set():
                    raise LinkDown(f"{action}: connection to {self.url} closed before the answer")
                raise CallTimeout(action, msg_id, limit, self.url)
            finally:
                self._pending.pop(msg_id, None)

    async def serve(self) -> None:
        """Read frames until the connection closes."""
        try:
            async for raw in self.ws:
                self.touch()
                self._on_frame(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for task in list(self._tasks):
                task.cancel()

    def _on_frame(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("CSMS %s sent a frame that is not JSON: %.200s", self.url, raw)
            return
        if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
            log.warning("CSMS %s sent a frame that is not OCPP-J: %.200s", self.url, raw)
            self._spawn(self._answer_error(frame[1] if isinstance(frame, list) and len(frame) > 1
                                           and isinstance(frame[1], str) else "-1",
                                           "FormationViolation", "not an OCPP-J message"))
            return
        kind, msg_id = frame[0], frame[1]
        if kind == CALL:
            if len(frame) != 4 or not isinstance(frame[2], str):
                self._spawn(self._answer_error(msg_id, "FormationViolation", "CALL needs 4 items"))
                return
            self._spawn(self._handle_call(msg_id, frame[2], frame[3]))
        elif kind in (CALLRESULT, CALLERROR):
            entry = self._pending.get(msg_id)
            if entry is None:
                log.warning("CSMS %s answered unknown message id %s", self.url, msg_id)
                return
            action, fut = entry
            if fut.done():
                return
            if kind == CALLRESULT:
                fut.set_result(frame[2] if isinstance(frame[2], dict) else {})
            else:
                fut.set_exception(PeerError(action, str(frame[2]),
                                            str(frame[3]) if len(frame) > 3 else ""))
        else:
            self._spawn(self._answer_error(msg_id, "FormationViolation",
                                           f"unknown message type {kind!r}"))

    def _spawn(self, coro: Awaitable) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_error(self, msg_id: str, code: str, description: str) -> None:
        try:
            await self._send(error_frame(msg_id, code, description))
        except LinkDown:
            pass

    async def _handle_call(self, msg_id: str, action: str, payload: Any) -> None:
        try:
            answer = await self.on_call(action, payload)
            if answer is None:
                return
            text = result_frame(msg_id, answer)
        except CallError as exc:
            text = error_frame(msg_id, exc.code, exc.description, exc.details)
        except LinkDown:
            return
        except Exception as exc:  # a bug in a handler: tell the CSMS, keep the station alive
            log.exception("handling %s from %s failed", action, self.url)
            text = error_frame(msg_id, "InternalError", f"{type(exc).__name__}: {exc}")
        try:
            await self._send(text)
        except LinkDown:
            pass

    async def keepalive(self, interval_s: Callable[[], float], pong_timeout_s: float) -> None:
        """A WebSocket ping every interval_s() seconds (<= 0: none, re-read as it changes).

        A pong missing pong_timeout_s after its ping means the link is lost (a pulled cable
        closes nothing): the connection is dropped and the station goes offline and reconnects.
        """
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self.closed.is_set():
            interval = interval_s()
            wait = 0.5 if interval <= 0 else last + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 0.5))  # short naps: a new interval applies soon
                continue
            last = loop.time()
            try:
                async with asyncio.timeout(pong_timeout_s):
                    await (await self.ws.ping())
            except ConnectionClosed:
                return
            except TimeoutError:
                log.warning("station: no pong from %s within %.1f s of a ping: link lost",
                         self.url, pong_timeout_s)
                self.abort()
                return

    async def close(self) -> None:
        await self.ws.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (power cut)."""
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()
        self.closed.set()

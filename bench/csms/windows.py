"""Waiting for station messages: look-back inbox, expect waiters and forbidden-message windows."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.csms.errors import ForbiddenMessage
from bench.csms.matching import PredicateError, describe_pattern, matches, short_payload
from bench.csms.messages import Received

INBOX_LIMIT = 5000


@dataclass(slots=True)
class Waiter:
    action: str
    pattern: Mapping[str, Any] | None
    after: int | None
    future: asyncio.Future[Received]

    def wants(self, msg: Received) -> bool:
        return (msg.action == self.action and (self.after is None or msg.mono_ns >= self.after)
                and matches(msg.payload, self.pattern))


@dataclass(eq=False)
class ForbidWindow:
    """`with station.forbid(action, match):` fails the block if such a CALL arrives meanwhile.

    The hit is recorded as a finding the moment it arrives; ForbiddenMessage is raised when
    the block ends (also when the block itself raised: the original stays as __context__).
    """

    station_id: str
    action: str
    pattern: Mapping[str, Any] | None
    on_close: Callable[[ForbidWindow], None]
    on_open: Callable[[ForbidWindow], None]
    hits: list[Received] = field(default_factory=list)
    error: PredicateError | None = None  # raised when the block ends (a bench bug)

    def check(self, msg: Received) -> bool:
        try:
            hit = msg.action == self.action and matches(msg.payload, self.pattern)
        except PredicateError as exc:
            self.error = self.error or exc
            return False
        if hit:
            self.hits.append(msg)
        return hit

    def describe(self) -> str:
        return f"{self.action} ({describe_pattern(self.pattern)})"

    def __enter__(self) -> ForbidWindow:
        self.on_open(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.on_close(self)
        if self.error is not None:
            raise self.error
        if self.hits:
            first = self.hits[0]
            raise ForbiddenMessage(
                f"station {self.station_id} sent forbidden {self.describe()} "
                f"{len(self.hits)} time(s); first: seq {first.seq} {short_payload(first.payload)}")

    async def __aenter__(self) -> ForbidWindow:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)


class Mailbox:
    """Unconsumed station CALLs, plus the waiters and forbid windows they are offered to."""

    def __init__(self) -> None:
        self.inbox: deque[Received] = deque(maxlen=INBOX_LIMIT)
        self.waiters: list[Waiter] = []
        self.forbids: list[ForbidWindow] = []

    def deliver(self, msg: Received) -> list[ForbidWindow]:
        """Offer a new message; returns the forbid windows it violated."""
        hit = [w for w in self.forbids if w.check(msg)] if self.forbids else []
        for i, waiter in enumerate(self.waiters):
            if waiter.future.done():
                continue
            try:
                wanted = waiter.wants(msg)
            except PredicateError as exc:  # the waiting expect raises it: an ERROR, not a wait
                del self.waiters[i]
                waiter.future.set_exception(exc)
                break
            if wanted:
                del self.waiters[i]
                waiter.future.set_result(msg)
                return hit
        self.inbox.append(msg)
        return hit

    def take(self, action: str, pattern: Mapping[str, Any] | None,
             after: int | None) -> Received | None:
        """The oldest unconsumed matching message, removed from the inbox."""
        for i, msg in enumerate(self.inbox):
            if msg.action == action and (after is None or msg.mono_ns >= after) \
                    and matches(msg.payload, pattern):
                del self.inbox[i]
                return msg
        return None

    def clear(self, before_ns: int | None = None) -> int:
        """Drop unconsumed messages (older than before_ns if given); returns how many."""
        if before_ns is None:
            n = len(self.inbox)
            self.inbox.clear()
            return n
        keep = [m for m in self.inbox if m.mono_ns >= before_ns]
        n = len(self.inbox) - len(keep)
        self.inbox.clear()
        self.inbox.extend(keep)
        return n

"""Waiting for station messages: look-back inbox, expect waiters and forbidden-message windows."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.csms.errors import ForbiddenMessage
from bench.csms.matching import PredicateError, describe_pattern, matches, short_payload
from bench.csms.messages import Received

# The look-back inbox is bounded in count and in bytes, per station and for the whole endpoint
# (600 stations flooding CALLs nobody expects must not grow the bench); the oldest go first,
# counted in `dropped`. A message weighs its frame's length plus what its parsed form costs.
INBOX_LIMIT = 5000
INBOX_BYTES = 4 << 20
TOTAL_INBOX_BYTES = 64 << 20
MESSAGE_OVERHEAD = 512  # bytes of Python objects per small parsed message (measured)


class InboxBudget:
    """The inbox bytes of all sessions of one endpoint. Over the limit, `reclaim()` (set by
    the endpoint: empty the inboxes of stations nobody waits for) runs first; if that is not
    enough, the station that delivers gives up its own oldest messages."""

    def __init__(self, limit: int | None = None,
                 reclaim: Callable[[], None] | None = None) -> None:
        self.limit = TOTAL_INBOX_BYTES if limit is None else limit
        self.used = 0
        self.reclaim = reclaim


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
                f"{len(self.hits)} time(s); first: seq {first.seq} {short_payload(first.payload)}",
                first_hit_ns=first.mono_ns, closed_ns=time.monotonic_ns(),
                block_error=exc[1] if len(exc) > 1 and isinstance(exc[1], BaseException)
                else None)

    async def __aenter__(self) -> ForbidWindow:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)


class Mailbox:
    """Unconsumed station CALLs, plus the waiters and forbid windows they are offered to."""

    def __init__(self, budget: InboxBudget | None = None) -> None:
        self.inbox: deque[Received] = deque()
        self._sizes: deque[int] = deque()  # weight of each inbox message, same order
        self._bytes = 0
        self.budget = budget or InboxBudget()
        self.dropped = 0  # unconsumed messages let go to keep the inbox bounded
        self.waiters: list[Waiter] = []
        self.forbids: list[ForbidWindow] = []

    def deliver(self, msg: Received, size: int = 0) -> list[ForbidWindow]:
        """Offer a new message (`size`: its frame's length); returns the forbid windows it
        violated."""
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
        weight = size + MESSAGE_OVERHEAD
        self.inbox.append(msg)
        self._sizes.append(weight)
        self._bytes += weight
        budget = self.budget
        budget.used += weight
        while len(self.inbox) > INBOX_LIMIT or (self._bytes > INBOX_BYTES and len(self.inbox) > 1):
            self._drop_oldest()
        if budget.used > budget.limit and budget.reclaim is not None:
            budget.reclaim()
        while budget.used > budget.limit and len(self.inbox) > 1:
            self._drop_oldest()
        return hit

    def _drop_oldest(self) -> None:
        self.inbox.popleft()
        weight = self._sizes.popleft()
        self._bytes -= weight
        self.budget.used -= weight
        self.dropped += 1

    def take(self, action: str, pattern: Mapping[str, Any] | None,
             after: int | None) -> Received | None:
        """The oldest unconsumed matching message, removed from the inbox."""
        for i, msg in enumerate(self.inbox):
            if msg.action == action and (after is None or msg.mono_ns >= after) \
                    and matches(msg.payload, pattern):
                del self.inbox[i]
                self._bytes -= self._sizes[i]
                self.budget.used -= self._sizes[i]
                del self._sizes[i]
                return msg
        return None

    def clear(self, before_ns: int | None = None) -> int:
        """Drop unconsumed messages (older than before_ns if given); returns how many."""
        keep = ([] if before_ns is None else
                [(m, n) for m, n in zip(self.inbox, self._sizes, strict=True)
                 if m.mono_ns >= before_ns])
        dropped = len(self.inbox) - len(keep)
        self.inbox = deque(m for m, _ in keep)
        self._sizes = deque(n for _, n in keep)
        self.budget.used -= self._bytes
        self._bytes = sum(self._sizes)
        self.budget.used += self._bytes
        return dropped

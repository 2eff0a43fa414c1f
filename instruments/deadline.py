"""Awaiting with a deadline, the one way the bench does it.

`within_deadline(awaitable, seconds)` raises TimeoutError after `seconds`, as
`asyncio.wait_for` does, but never swallows a cancellation: on Python 3.11 `wait_for` returns
the awaitable's result instead of raising CancelledError when the caller is cancelled in the
same loop turn as the awaitable completes (CPython gh-86296, fixed in 3.12). A background
poller cancelled that way runs on, and whoever awaits its end waits for ever: a fault-proof
run hung so under load, its current watch polling on after the case gave up on the edge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within_deadline(awaitable: Awaitable[T], seconds: float) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable

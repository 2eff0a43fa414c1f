"""instruments/deadline.py: a deadline raises TimeoutError and never swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from instruments.deadline import within_deadline


async def _cancelled_as_it_completes(wait) -> str:
    """Cancel the waiting task in the same loop turn as its awaitable completes."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(wait(fut, 10))
    await asyncio.sleep(0)  # the task now waits on fut
    fut.set_result("read")
    task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        return "cancelled"


async def test_a_cancel_that_meets_a_completed_read_still_cancels():
    assert await _cancelled_as_it_completes(within_deadline) == "cancelled"


async def test_the_race_it_avoids_is_real_on_this_python():
    """asyncio.wait_for lost that cancel on 3.11 (fixed in 3.12): the reason for the module."""
    import sys

    got = await _cancelled_as_it_completes(asyncio.wait_for)
    assert got == ("read" if sys.version_info < (3, 12) else "cancelled")


async def test_deadline_expires_with_timeout_error():
    with pytest.raises(TimeoutError):
        await within_deadline(asyncio.sleep(5), 0.05)
    assert await within_deadline(asyncio.sleep(0, "done"), 1) == "done"

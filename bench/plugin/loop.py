"""One asyncio loop in a thread of its own, owned by the run.

The CSMS, its station sessions and the bench verbs live on this loop for the whole run, while
pytest runs in the main thread (so Ctrl-C, SIGTERM and pytest's own machinery behave as
usual). Test coroutines are submitted to the loop and waited for with a deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopDeadline(TimeoutError):
    """A coroutine submitted to the bench loop outlived its deadline (a harness backstop)."""


class BenchLoop:
    def __init__(self, name: str = "bench-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._started = threading.Event()
        self._thread.start()
        self._started.wait(5)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None,
            what: str = "") -> T:
        """Run coro on the bench loop and wait for it; on deadline or Ctrl-C cancel it."""
        if not self.running:
            coro.close()
            raise RuntimeError("the bench loop is not running")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            if fut.done():  # the coroutine itself raised a TimeoutError (e.g. ExpectTimeout)
                raise
            fut.cancel()
            raise LoopDeadline(
                f"{what or getattr(coro, '__qualname__', 'coroutine')} still running after "
                f"{timeout:.0f} s (the case's overall deadline); cancelled") from None
        except BaseException:
            # KeyboardInterrupt/SystemExit in the waiting thread: stop the work as well
            fut.cancel()
            raise

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what is left, stop the loop and join its thread."""
        if self.loop.is_closed():
            return

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout / 2)

        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(_cancel_rest(), self.loop).result(timeout)
            except Exception:
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()

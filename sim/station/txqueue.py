"""Transaction-related messages: queued in order, kept while offline, retried on failure.

StartTransaction, StopTransaction and transaction MeterValues go through here. A message
the CSMS answers with CALLERROR or not at all is resent after TransactionMessageRetryInterval
x attempt number, up to TransactionMessageAttempts sends in total.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sim.station.connector import Transaction
from sim.station.link import CallTimeout, Link, PeerError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TxMessage:
    action: str
    payload: dict[str, Any]
    tx: Transaction | None = None
    attempts: int = 0
    queued_offline: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def frame_payload(self) -> dict[str, Any]:
        payload = dict(self.payload)
        if self.tx is not None and self.action in ("MeterValues", "StopTransaction"):
            # the id is known only once StartTransaction.conf arrived (maybe after a reconnect)
            payload["transactionId"] = self.tx.id if self.tx.id is not None else 0
        return payload


@dataclass
class RetryPolicy:
    attempts: Callable[[], int]
    interval_s: Callable[[], float]
    retry: bool = True  # False = fault no_transaction_retry


class TxQueue:
    def __init__(self, policy: RetryPolicy,
                 on_result: Callable[[TxMessage, dict], Awaitable[None]],
                 sleep: Callable[[float], Awaitable[None]],
                 newest_first_after_reconnect: bool = False,
                 resend_last_meter_values: bool = False) -> None:
        self.policy, self.on_result, self._sleep = policy, on_result, sleep
        self.newest_first = newest_first_after_reconnect
        # behaviour resends_meter_values_on_reconnect: the last MeterValues delivered before
        # a connection went down is sent once more on the next one
        self.resend_last = resend_last_meter_values
        self._last_meter_values: TxMessage | None = None
        self._was_online = False
        self.items: deque[TxMessage] = deque()
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self.online = False

    def put(self, msg: TxMessage) -> TxMessage:
        msg.queued_offline = not self.online
        self.items.append(msg)
        self._wake.set()
        return msg

    def __len__(self) -> int:
        return len(self.items)

    def went_online(self) -> None:
        self.online = True
        if self.newest_first and any(m.queued_offline for m in self.items):
            self.items.reverse()
        last = self._last_meter_values
        if self.resend_last and self._was_online and last is not None:
            self.items.appendleft(TxMessage(last.action, last.payload, last.tx))
            self._last_meter_values = None
        self._was_online = True
        self._wake.set()

    def went_offline(self) -> None:
        self.online = False

    async def drained(self, within: float) -> bool:
        """Wait until the queue is empty; False if it was not within `within` seconds."""
        if self.items:
            self._empty.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self._empty.wait()
        return not self.items

    async def run(self, link: Link) -> None:
        """Send queued messages over `link` until it goes down (LinkDown)."""
        while True:
            while not self.items:
                self._wake.clear()
                await self._wake.wait()
            msg = self.items[0]
            try:
                result = await link.call(msg.action, msg.frame_payload())
            except (PeerError, CallTimeout) as exc:
                msg.attempts += 1
                limit = max(1, self.policy.attempts())
                if not self.policy.retry or msg.attempts >= limit:
                    log.warning("dropping %s after %d attempt(s): %s",
                                msg.action, msg.attempts, exc)
                    self._finish(msg)
                    continue
                log.info("%s failed (%s); retry %d in %.1f s", msg.action, exc, msg.attempts,
                         self.policy.interval_s() * msg.attempts)
                await self._sleep(self.policy.interval_s() * msg.attempts)
                continue
            self._finish(msg)
            if msg.action == "MeterValues":
                self._last_meter_values = msg
            await self.on_result(msg, result)

    def _finish(self, msg: TxMessage) -> None:
        if self.items and self.items[0] is msg:
            self.items.popleft()
        msg.done.set()
        if not self.items:
            self._empty.set()

"""OCTT's reusable states (docs/catalogue.md) as steps cases share: plug in, Charging, ...

Each returns what later steps need (stamps, the transaction) and checks what OCTT checks on
the way, so a case that starts from "Charging" says `tx = await charging(case)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bench.plugin import BenchFault, Case
from testplans.ocpp import expect, expect_any_order, expect_status


@dataclass
class Session:
    transaction_id: int
    connector: int
    id_tag: str
    start: Any  # the StartTransaction as received
    charging: Any  # the StatusNotification(Charging)


async def plug_in(case: Case, connector: int | None = None) -> int:
    """[PLUG]: the EV is connected and ready to take energy; returns the plug stamp."""
    n = connector or case.connector
    stamp = await case.bench.plug_in(n)
    await case.bench.ev_start_charging(n, current_a=float(case.setting("ev_current_a")),
                                       voltage_v=float(case.setting("ev_voltage_v")))
    return stamp


async def plugged_preparing(case: Case, connector: int | None = None) -> Any:
    """PLUG -> StatusNotification(Preparing); records the plug-in status latency.

    The expect window opens when the verb is called: the station may report before the
    instrument's acknowledgement (the verb's stamp) is back at the bench."""
    n = connector or case.connector
    with case.step(f"plug the EV into connector {n}"):
        before = time.monotonic_ns()
        stamp = await plug_in(case, n)
        sn = await expect_status(case, n, "Preparing", after=before, trigger="the plug-in")
        case.collect("status_latency.plug_in", (sn.mono_ns - stamp) / 1e9, evidence=sn.seq)
    return sn


async def swipe(case: Case, tag: str | None = None) -> tuple[int, int]:
    """Present a card as a tap: held `card_hold_s`, then taken away (so the next tap is a new
    read). Returns (stamp before the verb, the verb's stamp when the card lay on the reader)."""
    before = time.monotonic_ns()
    stamp = await case.bench.present_card(case.card(tag).tag,
                                          hold_s=float(case.setting("card_hold_s")))
    return before, stamp


def same_id_tag(sent: Any, id_tag: str) -> bool:
    """idTags are IdTokens, CiString20: compared without regard to case (OCPP 1.6 §2.2)."""
    return isinstance(sent, str) and sent.lower() == id_tag.lower()


def check_start_payload(case: Case, start: Any, connector: int, id_tag: str) -> None:
    p = start.payload
    case.check(p.get("connectorId") == connector and same_id_tag(p.get("idTag"), id_tag),
               f"StartTransaction for connector {connector} and idTag {id_tag}",
               f"sent connectorId {p.get('connectorId')} idTag {p.get('idTag')}", at=start.mono_ns)
    missing = [k for k in ("meterStart", "timestamp") if k not in p]
    case.check(not missing, "StartTransaction with meterStart and timestamp",
               f"left out {', '.join(missing)}", at=start.mono_ns)


def check_stop_reason(case: Case, stop: Any, reason: str, expected: str | None = None, *,
                      note_left_out: bool = False) -> None:
    """The StopTransaction's reason is `reason`; a left-out reason means Local (OCPP 1.6 §7.47).
    `expected`: the check's wording where it says more than the reason; `note_left_out`: the
    failure also says when the station left the reason out."""
    got = stop.payload.get("reason", "Local")
    left_out = " (left out)" if note_left_out and "reason" not in stop.payload else ""
    case.check(got == reason, expected or f"StopTransaction reason {reason}",
               f"sent reason {got}{left_out} (seq {stop.seq})", at=stop.mono_ns)


def note_unrequired_authorize(case: Case, id_tag: str, after_ns: int) -> None:
    """[A]: with AuthorizeRemoteTxRequests=false OCPP 1.6 §5.11 has the station start at once
    and the CSMS judge the idTag from StartTransaction; it does not forbid an Authorize first.
    One that came is accepted, and the checks list says so."""
    auths = [m for m in case.station.received("Authorize")
             if m.mono_ns >= after_ns and same_id_tag(m.payload.get("idTag"), id_tag)]
    if auths:
        case.passed(f"Authorize for {id_tag} (seq {auths[0].seq}) although "
                    "AuthorizeRemoteTxRequests=false: accepted (OCPP 1.6 §5.11 does not require "
                    "it, nor forbid it)")


async def started(case: Case, connector: int, id_tag: str, after: Any) -> Session:
    """StartTransaction and StatusNotification(Charging), either order (OCTT allows the swap)."""
    start, sn = await expect_any_order(
        case, ("StartTransaction", {"connectorId": connector}),
        ("StatusNotification", {"connectorId": connector, "status": "Charging"}), after=after)
    check_start_payload(case, start, connector, id_tag)
    return Session(await transaction_id_of(case, start), connector, id_tag, start, sn)


async def stopped(case: Case, transaction_id: int, connector: int, reason: str, *, after: Any,
                  expected: str | None = None, note_left_out: bool = False) -> Any:
    """StopTransaction(reason) and StatusNotification(Finishing), either order (OCTT allows the
    swap); returns the StopTransaction. `expected`, `note_left_out`: see check_stop_reason."""
    stop, _ = await expect_any_order(
        case, ("StopTransaction", {"transactionId": transaction_id}),
        ("StatusNotification", {"connectorId": connector, "status": "Finishing"}), after=after)
    check_stop_reason(case, stop, reason, expected, note_left_out=note_left_out)
    return stop


async def transaction_id_of(case: Case, start: Any, within: float = 5.0) -> int:
    """The transactionId the bench gave in its answer to this StartTransaction (awaits the
    session's event when the answer has not gone out yet)."""
    try:
        tx = await case.station.session.transaction_of(start.seq, within)
    except TimeoutError as exc:  # the bench's own responder gave none: a bench fault
        raise BenchFault(str(exc)) from None
    return tx.transaction_id


async def charging(case: Case, card: str | None = None, connector: int | None = None) -> Session:
    """Reusable state Charging, plug-in first: PLUG -> Preparing; card -> Authorize Accepted;
    StartTransaction & StatusNotification(Charging)."""
    n = connector or case.connector
    c = case.card(card)
    await plugged_preparing(case, n)
    with case.step(f"present card {c.tag} ({c.id_tag})"):
        before, shown = await swipe(case, c.tag)
        auth = await expect(case, "Authorize", {"idTag": c.id_tag}, after=before,
                            trigger="the card was presented")
        case.collect("status_latency.card_to_authorize", (auth.mono_ns - shown) / 1e9,
                     evidence=auth.seq)
    with case.step("transaction starts"):
        return await started(case, n, c.id_tag, after=auth)


# -- the output current: is energy flowing? ----------------------------------------------------

def current_threshold_a(case: Case) -> float:
    """Output current above which energy counts as flowing (setting `current_threshold_a`)."""
    return float(case.setting("current_threshold_a"))


def instrument_on(case: Case, role: str, n: int) -> str | None:
    """The name of the rig's instrument of `role` (meter, ev) on connector n, if it has one."""
    return next((i.name for i in case.rig.instruments_of_role(role) if i.connector == n), None)


async def left_unplugged(case: Case, n: int) -> None:
    """The cases whose flow needs connector n left without an EV (ConnectionTimeOut runs out):
    with an EV emulator there the bench reads it back (the maintenance unplugged it); without
    one it cannot know, and the verdict says that it rests on the station being left alone."""
    if instrument_on(case, "ev", n) is None:
        case.unverifiable(f"no EV plugged into connector {n}", "the rig has no EV emulator "
                          "there, so the bench cannot see the plug")
        return
    if (await case.bench.ev_state(n)).plugged:
        raise BenchFault(f"connector {n} must have no EV plugged for this case; its EV "
                         "emulator reads plugged")


@dataclass
class CurrentEdge:
    """When the output current crossed the threshold, as the bench saw it."""

    stamp_ns: int | None  # the reading that first showed it came back then; None: never
    current_a: float  # that reading, or the last one when the wait ended
    source: str  # "reference meter 'meter'" or "EV emulator 'ev1'"
    watched_s: float  # how long the bench had watched by then


async def output_current(case: Case, n: int) -> tuple[float, str]:
    """Connector n's output current: the reference meter's if one sits there (it measures the
    DC output itself), else the EV emulator's measured current; and which of them it was."""
    meter = instrument_on(case, "meter", n)
    if meter is not None:
        return (await case.bench.meter_read(n)).current_a, f"reference meter {meter!r}"
    ev = instrument_on(case, "ev", n)
    return (await case.bench.ev_state(n)).measured_current_a, f"EV emulator {ev!r}"


class CurrentWatch:
    """Polls connector n's output current in the background until it is above (flowing) or
    below the threshold, while the case sends a command and waits for the station's messages:
    the energy may start or stop before the message that announces it. The edge's stamp is
    when the first reading that showed it came back (late by at most one poll and one read)."""

    def __init__(self, case: Case, n: int, flowing: bool) -> None:
        self.case, self.n, self.flowing = case, n, flowing
        self.started = time.monotonic()
        self.last = CurrentEdge(None, float("nan"), "no reading yet", 0.0)
        self.stopping = False
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> CurrentEdge:
        threshold = current_threshold_a(self.case)
        poll_s = float(self.case.setting("current_poll_s"))
        while not self.stopping:
            current, source = await output_current(self.case, self.n)
            stamp = time.monotonic_ns()
            self.last = CurrentEdge(None, current, source, time.monotonic() - self.started)
            if (current > threshold) == self.flowing:
                return CurrentEdge(stamp, current, source, self.last.watched_s)
            await asyncio.sleep(poll_s)
        return self.last

    async def edge(self, within_s: float) -> CurrentEdge:
        """The edge, waiting at most within_s more; else the last reading (stamp None)."""
        done, _ = await asyncio.wait({self.task}, timeout=within_s)
        if done:
            return self.task.result()  # an instrument error is raised here
        await self.stop()
        return self.last

    async def stop(self) -> None:
        """End the poll. It is told twice (a flag it checks, and a cancel repeated until it is
        done): a cancel can be lost in a read's deadline (instruments/deadline.py), and the
        poll's end must never be waited for unbounded."""
        self.stopping = True
        within_s = self.case.timeout  # a poll ends within one read; this bounds a stuck one
        deadline = time.monotonic() + within_s
        while not self.task.done():
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=0.5)
            if time.monotonic() > deadline and not self.task.done():
                raise BenchFault(f"the watch of connector {self.n}'s output current did not "
                                 f"stop within {within_s:g} s (last: "
                                 f"{self.last.current_a:.2f} A from {self.last.source})")
        if not self.task.cancelled():
            self.task.exception()  # retrieved: when the block failed first, its error stands


@contextlib.asynccontextmanager
async def watching_current(case: Case, n: int, flowing: bool) -> AsyncIterator[CurrentWatch]:
    """A CurrentWatch for the block; it never outlives it (the block's waits bound it)."""
    watch = CurrentWatch(case, n, flowing)
    try:
        yield watch
    finally:
        await watch.stop()


def describe_current(case: Case, flowing: bool) -> str:
    """The check's wording: `output current above 1 A` / `below 1 A`."""
    return f"output current {'above' if flowing else 'below'} {current_threshold_a(case):g} A"


async def current_edge(case: Case, n: int, flowing: bool) -> CurrentEdge:
    """Watch connector n's output current until it is above (flowing) or below the threshold,
    at most the message timeout; the edge, or the last reading (stamp None)."""
    async with watching_current(case, n, flowing) as watch:
        return await watch.edge(case.timeout)


async def check_current(case: Case, n: int, flowing: bool, after: str,
                        why: str = "") -> CurrentEdge:
    """The output current rises above (flowing) or falls below the threshold within the
    message timeout; FAIL if not, naming the last reading. `after`: what the wait starts from;
    `why`: what the energy flowing or stopping shows (for the check's text)."""
    edge = await current_edge(case, n, flowing)
    reason = f" ({why})" if why else ""
    case.check(edge.stamp_ns is not None,
               f"{describe_current(case, flowing)} on connector {n} ({edge.source}) within "
               f"{case.timeout:g} s {after}{reason}",
               f"{'delivered' if flowing else 'still delivered'} {edge.current_a:.2f} A for "
               f"{edge.watched_s:.1f} s")
    return edge


async def check_current_flows(case: Case, n: int, after: str) -> CurrentEdge:
    """Energy flows: the output current rises above the threshold within the message timeout
    (FAIL if not, naming the last reading). `after`: what the wait starts from, for the text."""
    return await check_current(case, n, True, after)

"""OCTT's reusable states (catalogue §0.2) as steps cases share: plug in, Charging, ...

Each returns what later steps need (stamps, the transaction) and checks what OCTT checks on
the way, so a case that starts from "Charging" says `tx = await charging(case)`.
"""

from __future__ import annotations

import asyncio
import time
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
    await case.bench.ev_start_charging(n, current_a=float(case.setting("ev_current_a")))
    return stamp


async def plugged_preparing(case: Case, connector: int | None = None) -> Any:
    """PLUG -> StatusNotification(Preparing); records the plug-in status latency.

    The expect window opens when the verb is called: the station may report before the
    instrument's acknowledgement (the verb's stamp) is back at the bench."""
    n = connector or case.connector
    with case.step(f"plug the EV into connector {n}"):
        before = time.monotonic_ns()
        stamp = await plug_in(case, n)
        sn = await expect_status(case, n, "Preparing", after=before)
        case.collect("status_latency.plug_in", (sn.mono_ns - stamp) / 1e9, evidence=sn.seq)
    return sn


async def swipe(case: Case, tag: str | None = None) -> tuple[int, int]:
    """Present a card as a tap: held `card_hold_s`, then taken away (so the next tap is a new
    read). Returns (stamp before the verb, the verb's stamp when the card lay on the reader)."""
    before = time.monotonic_ns()
    stamp = await case.bench.present_card(case.card(tag).tag,
                                          hold_s=float(case.setting("card_hold_s")))
    return before, stamp


def check_start_payload(case: Case, start: Any, connector: int, id_tag: str) -> None:
    p = start.payload
    case.check(p.get("connectorId") == connector and p.get("idTag") == id_tag,
               f"StartTransaction for connector {connector} and idTag {id_tag}",
               f"sent connectorId {p.get('connectorId')} idTag {p.get('idTag')}")
    missing = [k for k in ("meterStart", "timestamp") if k not in p]
    case.check(not missing, "StartTransaction with meterStart and timestamp",
               f"left out {', '.join(missing)}")


def check_stop_reason(case: Case, stop: Any, reason: str, expected: str | None = None, *,
                      note_left_out: bool = False) -> None:
    """The StopTransaction's reason is `reason`; a left-out reason means Local (OCPP 1.6 §7.47).
    `expected`: the check's wording where it says more than the reason; `note_left_out`: the
    failure also says when the station left the reason out."""
    got = stop.payload.get("reason", "Local")
    left_out = " (left out)" if note_left_out and "reason" not in stop.payload else ""
    case.check(got == reason, expected or f"StopTransaction reason {reason}",
               f"sent reason {got}{left_out} (seq {stop.seq})")


async def started(case: Case, connector: int, id_tag: str, after: int) -> Session:
    """StartTransaction and StatusNotification(Charging), either order (OCTT allows the swap)."""
    start, sn = await expect_any_order(
        case, ("StartTransaction", {"connectorId": connector}),
        ("StatusNotification", {"connectorId": connector, "status": "Charging"}), after=after)
    check_start_payload(case, start, connector, id_tag)
    return Session(await transaction_id_of(case, start), connector, id_tag, start, sn)


async def stopped(case: Case, transaction_id: int, connector: int, reason: str, *, after: int,
                  expected: str | None = None, note_left_out: bool = False) -> Any:
    """StopTransaction(reason) and StatusNotification(Finishing), either order (OCTT allows the
    swap); returns the StopTransaction. `expected`, `note_left_out`: see check_stop_reason."""
    stop, _ = await expect_any_order(
        case, ("StopTransaction", {"transactionId": transaction_id}),
        ("StatusNotification", {"connectorId": connector, "status": "Finishing"}), after=after)
    check_stop_reason(case, stop, reason, expected, note_left_out=note_left_out)
    return stop


async def transaction_id_of(case: Case, start: Any, within: float = 5.0) -> int:
    """The transactionId the bench gave in its answer to this StartTransaction."""
    deadline = time.monotonic() + within
    while True:
        for tx in case.ctx.tracker.open_transactions():
            if tx.seq == start.seq:
                return tx.transaction_id
        if time.monotonic() > deadline:
            raise BenchFault(f"no answer to StartTransaction seq {start.seq} recorded within "
                             f"{within:g} s (the bench's own responder)")
        await asyncio.sleep(0.02)


async def charging(case: Case, card: str | None = None, connector: int | None = None) -> Session:
    """Reusable state Charging, plug-in first: PLUG -> Preparing; card -> Authorize Accepted;
    StartTransaction & StatusNotification(Charging)."""
    n = connector or case.connector
    c = case.card(card)
    await plugged_preparing(case, n)
    with case.step(f"present card {c.tag} ({c.uid})"):
        before, shown = await swipe(case, c.tag)
        auth = await expect(case, "Authorize", {"idTag": c.uid}, after=before)
        case.collect("status_latency.card_to_authorize", (auth.mono_ns - shown) / 1e9,
                     evidence=auth.seq)
    with case.step("transaction starts"):
        return await started(case, n, c.uid, after=auth.mono_ns)

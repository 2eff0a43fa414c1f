"""TC_023_x's flow, shared by its three cards (invalid, expired, blocked): a card the CSMS
refuses, then PLUG: Preparing and never a StartTransaction."""

from __future__ import annotations

import asyncio
import time

from bench.plugin import BenchFault, Case
from testplans.ocpp import expect
from testplans.states import plug_in, swipe


async def refused_card_no_start(case: Case, tag: str, status: str) -> None:
    """Card `tag` (answered `status`) then PLUG: Preparing and never a StartTransaction."""
    card, n, station = case.card(tag), case.connector, case.station
    # the MinimumStatusDuration the markers configure: the Preparing may come that late
    min_status_s = float(case.setting("refused_card_min_status_s"))
    watch_s = float(case.setting("watch_s"))
    if card.status != status:
        raise BenchFault(f"rig card catalogue: [cards.{tag}] must have status {status!r} "
                         f"(the bench answers Authorize from it); it has {card.status!r}")
    with case.step(f"present card {tag} ({card.id_tag}): Authorize, answered {status}"):
        before, _ = await swipe(case, tag)
        await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
    with case.step(f"plug the EV into connector {n}: Preparing, no transaction"):
        plugged = time.monotonic_ns()
        await plug_in(case, n)
        sn = await expect(case, "StatusNotification", {"connectorId": n}, after=plugged,
                          within=min_status_s + case.timeout)
        await asyncio.sleep(watch_s)
        starts = [m for m in station.received("StartTransaction") if m.mono_ns >= before]
        case.check(not starts, f"no StartTransaction after card {card.id_tag} was answered "
                   f"{status} (watched until {watch_s:g} s after the Preparing, setting "
                   "watch_s)", "started one: " + ", ".join(
                       f"StartTransaction seq {m.seq} connector {m.payload.get('connectorId')} "
                       f"idTag {m.payload.get('idTag')}" for m in starts))
        got = sn.payload.get("status")
        case.check(got == "Preparing", f"StatusNotification(connector {n}, Preparing)",
                   f"sent status {got} (errorCode {sn.payload.get('errorCode')}, seq {sn.seq})")

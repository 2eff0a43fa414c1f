"""TC_023_1_CS Start Charging Session – Authorize invalid (catalogue §1.1; OL p37, TC_023_CS).

MinimumStatusDuration=10, LocalPreAuthorize=true; card (<Configured invalid IdTag>) ->
Authorize -> the bench answers Invalid; PLUG -> StatusNotification(Preparing); the station
never starts a transaction (no StartTransaction until OBSERVE_S after Preparing).
TC_023_2_CS (expired) and TC_023_3_CS (blocked) run the same flow with their card.
"""

import asyncio
import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import expect
from testplans.states import plug_in, swipe

pytestmark = pytest.mark.octt(
    "TC_023_1_CS", "Start Charging Session – Authorize invalid",
    requires=("instrument:ev", "instrument:card"),
    config={"MinimumStatusDuration": "10", "LocalPreAuthorize": "true"},
)

MIN_STATUS_S = 10.0  # the MinimumStatusDuration OCTT sets: Preparing is reported that late
OBSERVE_S = 2.0  # no StartTransaction may follow the Preparing this long after it


async def refused_card_no_start(case, tag: str, status: str) -> None:
    """Card `tag` (answered `status`) then PLUG: Preparing and never a StartTransaction."""
    card, n, station = case.card(tag), case.connector, case.station
    if card.status != status:
        raise BenchFault(f"rig card catalogue: [cards.{tag}] must have status {status!r} "
                         f"(the bench answers Authorize from it); it has {card.status!r}")
    with case.step(f"present card {tag} ({card.uid}): Authorize, answered {status}"):
        before, _ = await swipe(case, tag)
        await expect(case, "Authorize", {"idTag": card.uid}, after=before)
    with case.step(f"plug the EV into connector {n}: Preparing, no transaction"):
        plugged = time.monotonic_ns()
        await plug_in(case, n)
        sn = await expect(case, "StatusNotification", {"connectorId": n}, after=plugged,
                          within=MIN_STATUS_S + case.timeout)
        await asyncio.sleep(OBSERVE_S)
        starts = [m for m in station.received("StartTransaction") if m.mono_ns >= before]
        case.check(not starts, f"no StartTransaction after card {card.uid} was answered "
                   f"{status}", "started one: " + ", ".join(
                       f"StartTransaction seq {m.seq} connector {m.payload.get('connectorId')} "
                       f"idTag {m.payload.get('idTag')}" for m in starts))
        got = sn.payload.get("status")
        case.check(got == "Preparing", f"StatusNotification(connector {n}, Preparing)",
                   f"sent status {got} (errorCode {sn.payload.get('errorCode')}, seq {sn.seq})")


async def test_tc_023_1_cs(case):
    await refused_card_no_start(case, "invalid", "Invalid")

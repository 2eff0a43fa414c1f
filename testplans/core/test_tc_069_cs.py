"""TC_069_CS Stop transaction – ParentIdTag in StopTransaction matches ParentIdTag in
StartTransaction (docs/catalogue.md; OCTT p12).

Prerequisite: when one reader serves several connectors, the connector not under test is
occupied (an EV plugged in there, once the session under test runs). Charging (card A,
parentIdTag P); card C (another idTag, same parentIdTag P) is presented -> Authorize(C) ->
Accepted(parent P); StopTransaction (idTag = C) and StatusNotification(Finishing), either
order.
"""

import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import expect, expect_any_order, expect_status
from testplans.states import charging, plug_in, same_id_tag, swipe

pytestmark = pytest.mark.octt(
    "TC_069_CS", "Stop transaction – ParentIdTag in StopTransaction matches ParentIdTag in "
    "StartTransaction", requires=("instrument:ev", "instrument:card"),
)

MEMBER_CARD = "group_member"


async def test_tc_069_cs(case, station, bench):
    starter, member = case.card(), case.card(MEMBER_CARD)
    if not starter.parent or member.parent != starter.parent or member.id_tag == starter.id_tag:
        raise BenchFault(f"rig card catalogue: [cards.{MEMBER_CARD}] must be another idTag with "
                         f"the parent of [cards.{starter.tag}] ({starter.parent!r}); it has "
                         f"{member.id_tag} parent {member.parent!r}")
    n = case.connector
    session = await charging(case, connector=n)
    tx = session.transaction_id
    if int(case.rig.hardware.get("rfid_readers", 1)) < case.rig.station.connectors:
        # occupied once the session runs, so that card A could only go to connector n
        await occupy_other_connectors(case, bench, n)
    with case.step(f"present card {member.tag} ({member.id_tag}, parent {member.parent}): "
                   "Authorize"):
        before, _ = await swipe(case, member.tag)
        auth = await expect(case, "Authorize", {"idTag": member.id_tag}, after=before)
    with case.step("StopTransaction(idTag of the group member) and StatusNotification"
                   "(Finishing)"):
        stop, _ = await expect_any_order(
            case, ("StopTransaction", {"transactionId": tx}),
            ("StatusNotification", {"connectorId": n, "status": "Finishing"}),
            after=auth.mono_ns)
        tag = stop.payload.get("idTag")
        case.check(same_id_tag(tag, member.id_tag), f"StopTransaction idTag {member.id_tag} "
                   "(the card of the Authorize, compared without regard to case)",
                   f"sent idTag {tag} (seq {stop.seq})", at=stop.mono_ns)


async def occupy_other_connectors(case, bench, n):
    """OCTT prerequisite with a shared reader: the connectors not under test are occupied."""
    for c in range(1, case.rig.station.connectors + 1):
        if c == n:
            continue
        if c not in bench.evs:
            case.log(f"connector {c} has no EV emulator: it cannot be occupied")
            continue
        with case.step(f"occupy connector {c}: plug an EV in"):
            before = time.monotonic_ns()
            await plug_in(case, c)
            await expect_status(case, c, "Preparing", after=before)

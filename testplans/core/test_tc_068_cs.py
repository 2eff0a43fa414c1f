"""TC_068_CS Stop transaction – IdTag in StopTransaction matches IdTag in StartTransaction
(catalogue §1.1; OL p11).

Charging (card A); card B (<Valid IdTag 2>, another parentIdTag) is presented -> no
StopTransaction, and no Authorize unless one reader serves several connectors; card A again
-> StopTransaction (idTag = A) and StatusNotification(Finishing), either order.

With a shared reader card B may legitimately prepare a session on another connector; that
connector must fall back to Available after ConnectionTimeOut (set short for the case).
"""

import asyncio

import pytest

from testplans.ocpp import expect, expect_any_order
from testplans.states import charging, swipe

pytestmark = pytest.mark.octt(
    "TC_068_CS", "Stop transaction – IdTag in StopTransaction matches IdTag in StartTransaction",
    requires=("instrument:ev", "instrument:card"),
    config={"ConnectionTimeOut": "{connection_timeout_s}"},
)

OTHER_CARD = "valid2"
OBSERVE_S = 3.0  # how long the transaction must survive card B (Authorize round trip + margin)


async def test_tc_068_cs(case, station):
    other = case.card(OTHER_CARD)
    session = await charging(case)
    n, tx, start_tag = session.connector, session.transaction_id, session.id_tag
    shared_reader = int(case.rig.hardware.get("rfid_readers", 1)) < case.rig.station.connectors

    with case.step(f"present card {other.tag} ({other.id_tag}): the transaction goes on"):
        before, _ = await swipe(case, other.tag)
        other_shown = before
        await asyncio.sleep(OBSERVE_S)
        stops = [m for m in station.received("StopTransaction")
                 if m.mono_ns >= before and m.payload.get("transactionId") == tx]
        case.check(not stops, f"no StopTransaction for transaction {tx} after card "
                   f"{other.id_tag} (not the starting idTag {start_tag}, another parentIdTag)",
                   "stopped it: " + ", ".join(
                       f"StopTransaction seq {m.seq} idTag {m.payload.get('idTag')} reason "
                       f"{m.payload.get('reason', 'Local')}" for m in stops))
        auths = [m for m in station.received("Authorize") if m.mono_ns >= before]
        if not shared_reader:
            case.check(not auths, f"no Authorize for card {other.id_tag} (one reader per "
                       "connector)", f"sent Authorize (seq {auths[0].seq if auths else ''})")

    with case.step(f"present card {case.setting('card')} ({start_tag}) again: StopTransaction "
                   "and Finishing"):
        before, _ = await swipe(case, case.setting("card"))
        stop, _ = await expect_any_order(
            case, ("StopTransaction", {"transactionId": tx}),
            ("StatusNotification", {"connectorId": n, "status": "Finishing"}), after=before)
        tag = stop.payload.get("idTag")
        case.check(tag == start_tag, f"StopTransaction idTag {start_tag} (the starting idTag)",
                   f"sent idTag {tag} (seq {stop.seq})")

    await release_other_connectors(case, n, other_shown)


async def release_other_connectors(case, n, since):
    """A connector that card B prepared through the shared reader returns to Available."""
    session = case.station.session
    for c in range(1, case.rig.station.connectors + 1):
        if c == n or session.status(c) != "Preparing":
            continue
        with case.step(f"connector {c}, prepared by card {OTHER_CARD}: Available after "
                       "ConnectionTimeOut"):
            await expect(case, "StatusNotification", {"connectorId": c, "status": "Available"},
                         after=since, within=float(case.setting("connection_timeout_s"))
                         + case.timeout)

"""TC_068_CS Stop transaction – IdTag in StopTransaction matches IdTag in StartTransaction
(docs/catalogue.md; OCTT p11).

Charging (card A); card B (<Valid IdTag 2>, another parentIdTag) is presented -> no
StopTransaction; card A again -> StopTransaction (idTag = A) and StatusNotification
(Finishing), either order.

An Authorize for card B is accepted. OCTT's step 1 says the station sends none unless one
reader serves several connectors, but OCPP 1.6 §4.1 lets a station send Authorize for an
identifier that differs from the one that started the transaction, and without it the station
cannot learn card B's parentIdTag, which it must compare (TC_069 requires exactly that
Authorize for a card of the same group). The check's text says which rule it applied.

With a shared reader card B may legitimately prepare a session on another connector; that
connector must fall back to Available after ConnectionTimeOut (set short for the case).
"""

import asyncio

import pytest

from testplans.ocpp import expect, expect_any_order
from testplans.states import charging, same_id_tag, swipe

pytestmark = pytest.mark.octt(
    "TC_068_CS", "Stop transaction – IdTag in StopTransaction matches IdTag in StartTransaction",
    requires=("instrument:ev", "instrument:card"),
    config={"ConnectionTimeOut": "{connection_timeout_s}"},
)

OTHER_CARD = "valid2"


async def test_tc_068_cs(case, station):
    other = case.card(OTHER_CARD)
    session = await charging(case)
    n, tx, start_tag = session.connector, session.transaction_id, session.id_tag
    shared_reader = int(case.rig.hardware.get("rfid_readers", 1)) < case.rig.station.connectors
    watch_s = float(case.setting("card_watch_s"))  # an Authorize round trip and the reaction

    with case.step(f"present card {other.tag} ({other.id_tag}): the transaction goes on"):
        before, _ = await swipe(case, other.tag)
        other_shown = before
        await asyncio.sleep(watch_s)
        stops = [m for m in station.received("StopTransaction")
                 if m.mono_ns >= before and m.payload.get("transactionId") == tx]
        case.check(not stops, f"no StopTransaction for transaction {tx} within {watch_s:g} s "
                   f"(setting card_watch_s) of card {other.id_tag} (not the starting idTag "
                   f"{start_tag}, another parentIdTag)",
                   "stopped it: " + ", ".join(
                       f"StopTransaction seq {m.seq} idTag {m.payload.get('idTag')} reason "
                       f"{m.payload.get('reason', 'Local')}" for m in stops))
        auths = [m for m in station.received("Authorize") if m.mono_ns >= before]
        if auths:
            basis = ("OCTT allows it when one reader serves several connectors" if shared_reader
                     else "OCTT step 1 expects none with one reader per connector, but OCPP 1.6 "
                     "§4.1 allows an Authorize for an identifier that differs from the "
                     "starting one (the station learns its parentIdTag from it)")
            case.passed(f"Authorize for card {other.id_tag} (seq {auths[0].seq}) accepted: "
                        f"{basis}")

    with case.step(f"present card {case.setting('card')} ({start_tag}) again: StopTransaction "
                   "and Finishing"):
        before, _ = await swipe(case, case.setting("card"))
        stop, _ = await expect_any_order(
            case, ("StopTransaction", {"transactionId": tx}),
            ("StatusNotification", {"connectorId": n, "status": "Finishing"}), after=before)
        tag = stop.payload.get("idTag")
        case.check(same_id_tag(tag, start_tag), f"StopTransaction idTag {start_tag} (the "
                   "starting idTag, compared without regard to case)",
                   f"sent idTag {tag} (seq {stop.seq})", at=stop.mono_ns)

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

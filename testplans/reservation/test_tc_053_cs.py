"""TC_053_CS Use a reserved Connector with parentIdTag (docs/catalogue.md; OCTT p77).

ReserveNow(connector, valid, parentIdTag = valid's group) -> Accepted;
StatusNotification(Reserved); card group_member (another idTag of that group) -> Authorize
(the station learns the group from the CSMS) -> Preparing; PLUG -> StartTransaction with the
reservationId and StatusNotification(Charging); energy flows (OCPP 1.6 §5.13: an idTag with
the reservation's parentIdTag may use it).
"""

import pytest

from bench.plugin import BenchFault
from testplans.reservations import reserve_and_see_reserved, reserved_card_starts
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_053_CS", "Use a reserved Connector with parentIdTag",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev",
              "instrument:card"),
    measures=("triggered.reserve_now",),
)


async def test_tc_053_cs(case):
    n, card, member = case.connector, case.card(), case.card("group_member")
    if not card.parent or member.parent != card.parent or member.id_tag == card.id_tag:
        raise BenchFault(f"rig card catalogue: [cards.group_member] must be another idTag with "
                         f"the parent of [cards.{card.tag}] ({card.parent!r}); it has "
                         f"{member.id_tag!r} parent {member.parent!r}")
    await left_unplugged(case, n)
    r, _ = await reserve_and_see_reserved(case, n, card, parent=card.parent)
    session = await reserved_card_starts(case, n, member, r)
    case.passed(f"card {member.id_tag} of group {card.parent} started on reservation "
                f"{r.reservation_id} (transaction {session.transaction_id})")

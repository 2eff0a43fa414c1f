"""TC_046_1_CS Reservation of a Connector – Local start transaction (docs/catalogue.md; OCTT
p67). Requires the Reservation profile.

The other connectors made Unavailable (so a card has nowhere else to go); ReserveNow(connector,
valid) -> Accepted; StatusNotification(Reserved); card valid2 -> no Authorize, no start, the
connector stays Reserved; card valid -> (an Authorize may come) StatusNotification(Preparing);
PLUG -> StartTransaction with the reservationId and StatusNotification(Charging), either
order; energy flows.
"""

import pytest

from testplans.reservations import (
    other_card_refused,
    others_unavailable,
    reserve_and_see_reserved,
    reserved_card_starts,
)
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_046_1_CS", "Reservation of a Connector – Local start transaction",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev",
              "instrument:card"),
    measures=("triggered.reserve_now",),
)


async def test_tc_046_1_cs(case):
    n, card, other = case.connector, case.card(), case.card("valid2")
    await left_unplugged(case, n)
    await others_unavailable(case, n)
    r, _ = await reserve_and_see_reserved(case, n, card)
    await other_card_refused(case, n, other, card.id_tag)
    session = await reserved_card_starts(case, n, card, r)
    case.passed(f"transaction {session.transaction_id} started on reservation "
                f"{r.reservation_id}")

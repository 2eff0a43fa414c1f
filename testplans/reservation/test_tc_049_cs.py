"""TC_049_CS Reservation of a Charge Point – Transaction (docs/catalogue.md; OCTT CSMS p168).
Requires ReserveConnectorZeroSupported=true ([hardware] reserve_connector_zero).

The other connectors made Unavailable, so one connector is left; ReserveNow(connectorId 0,
valid) -> Accepted. OCPP 1.6 §5.13 has the station keep a connector free for the reserved
idTag; with one connector left that is this one, so (an inference) card valid2 is refused
there: no Authorize, no start; whether the station shows that connector Reserved is not
judged (the text does not say). Card valid -> Preparing; PLUG -> StartTransaction with the
reservationId and StatusNotification(Charging); energy flows.
"""

import pytest

from testplans.reservations import (
    check_connector_zero_declared,
    other_card_refused,
    others_unavailable,
    reserve,
    reserved_card_starts,
)
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_049_CS", "Reservation of a Charge Point – Transaction",
    requires=("profile:Reservation", "reserve_connector_zero", "not:rejects_reservations",
              "multiple_connectors", "instrument:ev", "instrument:card"),
)


async def test_tc_049_cs(case):
    n, card, other = case.connector, case.card(), case.card("valid2")
    await check_connector_zero_declared(case)
    await left_unplugged(case, n)
    await others_unavailable(case, n)
    with case.step(f"ReserveNow(connector 0, {card.tag}): Accepted"):
        r = await reserve(case, 0, card)
    await other_card_refused(case, n, other, f"{card.id_tag} (a reservation of connector 0 "
                             "and the only connector left)")
    session = await reserved_card_starts(case, n, card, r)
    case.passed(f"transaction {session.transaction_id} started on the Charge Point's "
                f"reservation {r.reservation_id}")

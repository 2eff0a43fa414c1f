"""TC_052_CS Cancel Reservation – Rejected (docs/catalogue.md; TZ, EV).

CancelReservation(a reservationId the station does not hold) -> Rejected (OCPP 1.6 §7.6).
"""

import pytest

from testplans.ocpp import check_answer
from testplans.reservations import unknown_reservation_id

pytestmark = pytest.mark.octt(
    "TC_052_CS", "Cancel Reservation – Rejected",
    requires=("profile:Reservation",),
)


async def test_tc_052_cs(case, station):
    rid = unknown_reservation_id()
    with case.step(f"CancelReservation({rid}, unknown): Rejected"):
        res = await station.call("CancelReservation", {"reservationId": rid})
        check_answer(case, res, "Rejected", f"CancelReservation({rid}, never reserved)")

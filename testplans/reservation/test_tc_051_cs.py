"""TC_051_CS Cancel Reservation (docs/catalogue.md; TZ, EV).

ReserveNow(connector, valid) -> Accepted; StatusNotification(Reserved);
CancelReservation(reservationId) -> Accepted; StatusNotification(Available) (measured:
triggered.cancel_reservation).
"""

import pytest

from testplans.ocpp import check_answer, expect_status, triggered
from testplans.reservations import reserve_and_see_reserved
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_051_CS", "Cancel Reservation",
    requires=("profile:Reservation", "not:rejects_reservations"),
    measures=("triggered.reserve_now", "triggered.cancel_reservation"),
)


async def test_tc_051_cs(case, station):
    n = case.connector
    await left_unplugged(case, n)
    r, reserved = await reserve_and_see_reserved(case, n, case.card())
    with case.step(f"CancelReservation({r.reservation_id}): Accepted, Available"):
        res = await station.call("CancelReservation", {"reservationId": r.reservation_id})
        check_answer(case, res, "Accepted", f"CancelReservation({r.reservation_id})")
        sn = await expect_status(case, n, "Available", after=max(res.sent_mono_ns,
                                                                 reserved.mono_ns + 1),
                                 trigger="the CancelReservation (the reservation ends)")
        triggered(case, "triggered.cancel_reservation", res, sn)

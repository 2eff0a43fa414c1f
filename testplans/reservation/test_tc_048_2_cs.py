"""TC_048_2_CS Reservation of a Connector – Occupied (docs/catalogue.md; OCTT p71).

PLUG -> StatusNotification(Preparing); ReserveNow(connector) -> Occupied.
"""

import pytest

from testplans.reservations import reserve
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt(
    "TC_048_2_CS", "Reservation of a Connector – Occupied",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev"),
)


async def test_tc_048_2_cs(case):
    n = case.connector
    await plugged_preparing(case, n)
    with case.step("ReserveNow: Occupied"):
        await reserve(case, n, case.card(), "Occupied")

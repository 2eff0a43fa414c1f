"""TC_050_2_CS Reservation of a Charge Point – Occupied (docs/catalogue.md; PW id; steps INF).

An EV plugged into every connector (each Preparing); ReserveNow(connectorId 0) -> Occupied
(an inference from OCPP 1.6 §7.38: no connector is free for the reservation).
"""

import pytest

from testplans.reservations import reserve
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt(
    "TC_050_2_CS", "Reservation of a Charge Point – Occupied",
    requires=("profile:Reservation", "reserve_connector_zero", "not:rejects_reservations",
              "instrument:ev"),
)


async def test_tc_050_2_cs(case):
    for n in range(1, case.rig.station.connectors + 1):
        await plugged_preparing(case, n)
    with case.step("ReserveNow(connector 0): Occupied"):
        await reserve(case, 0, case.card(), "Occupied")

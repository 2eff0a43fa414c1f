"""TC_050_3_CS Reservation of a Charge Point – Unavailable (docs/catalogue.md; OCTT p75).

SetChargePointUnavailable: ChangeAvailability(connectorId 0, Inoperative) -> Accepted;
StatusNotification(Unavailable) for connector 0 and every connector; ReserveNow(connectorId 0)
-> Unavailable. The maintenance makes the station Operative again.
"""

import pytest

from testplans.ocpp import check_answer, expect_status
from testplans.reservations import reserve

pytestmark = pytest.mark.octt(
    "TC_050_3_CS", "Reservation of a Charge Point – Unavailable",
    requires=("profile:Reservation", "reserve_connector_zero", "not:rejects_reservations"),
)


async def test_tc_050_3_cs(case, station):
    with case.step("ChangeAvailability(0, Inoperative): every connector Unavailable"):
        res = await station.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        check_answer(case, res, "Accepted", "ChangeAvailability(0, Inoperative)")
        for n in range(0, case.rig.station.connectors + 1):
            await expect_status(case, n, "Unavailable", after=res.sent_mono_ns)
    with case.step("ReserveNow(connector 0): Unavailable"):
        await reserve(case, 0, case.card(), "Unavailable")

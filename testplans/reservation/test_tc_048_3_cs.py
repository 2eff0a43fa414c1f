"""TC_048_3_CS Reservation of a Connector – Unavailable (docs/catalogue.md; OCTT CSMS p166).

ChangeAvailability(connector, Inoperative) -> Accepted; StatusNotification(Unavailable);
ReserveNow(connector) -> Unavailable. The maintenance makes it Operative again.
"""

import pytest

from testplans.ocpp import check_answer, expect_status
from testplans.reservations import reserve

pytestmark = pytest.mark.octt(
    "TC_048_3_CS", "Reservation of a Connector – Unavailable",
    requires=("profile:Reservation", "not:rejects_reservations"),
)


async def test_tc_048_3_cs(case, station):
    n = case.connector
    with case.step(f"ChangeAvailability({n}, Inoperative): Unavailable"):
        res = await station.call("ChangeAvailability", {"connectorId": n, "type": "Inoperative"})
        check_answer(case, res, "Accepted", f"ChangeAvailability({n}, Inoperative)")
        await expect_status(case, n, "Unavailable", after=res.sent_mono_ns)
    with case.step("ReserveNow: Unavailable"):
        await reserve(case, n, case.card(), "Unavailable")

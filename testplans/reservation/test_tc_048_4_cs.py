"""TC_048_4_CS Reservation of a Connector – Rejected (docs/catalogue.md; TZ, EV).

Prerequisite the rig declares: the station is configured not to accept reservations
([hardware] rejects_reservations). ReserveNow(connector) -> Rejected (OCPP 1.6 §7.38).
"""

import pytest

from testplans.reservations import reserve

pytestmark = pytest.mark.octt(
    "TC_048_4_CS", "Reservation of a Connector – Rejected",
    requires=("profile:Reservation", "rejects_reservations"),
)


async def test_tc_048_4_cs(case):
    case.unverifiable("the station is configured not to accept reservations",
                      "the rig declares it ([hardware] rejects_reservations)")
    with case.step("ReserveNow: Rejected"):
        await reserve(case, case.connector, case.card(), "Rejected")

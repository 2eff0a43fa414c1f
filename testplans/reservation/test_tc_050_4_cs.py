"""TC_050_4_CS Reservation of a Charge Point – Rejected (docs/catalogue.md; PW id; steps INF).

A station that does not support reservations of connector 0 (ReserveConnectorZeroSupported
false or absent, [hardware] reserve_connector_zero = false): ReserveNow(connectorId 0) ->
Rejected (OCPP 1.6 §5.13: without that support the station SHALL answer Rejected).
"""

import pytest

from testplans.reservations import check_connector_zero_declared, reserve

pytestmark = pytest.mark.octt(
    "TC_050_4_CS", "Reservation of a Charge Point – Rejected",
    requires=("profile:Reservation", "not:reserve_connector_zero"),
)


async def test_tc_050_4_cs(case):
    await check_connector_zero_declared(case)
    with case.step("ReserveNow(connector 0): Rejected"):
        await reserve(case, 0, case.card(), "Rejected")

"""TC_050_1_CS Reservation of a Charge Point – Faulted (docs/catalogue.md; PW id; steps INF).

Every connector faulted (an EV plugged into each and CP shorted to PE, as TC_041):
StatusNotification(Faulted) for each; ReserveNow(connectorId 0) -> Faulted (an inference from
OCPP 1.6 §7.38: no connector can take the reservation, each for a fault).
"""

import time

import pytest

from testplans.ocpp import expect_status
from testplans.reservations import reserve
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt(
    "TC_050_1_CS", "Reservation of a Charge Point – Faulted",
    requires=("profile:Reservation", "reserve_connector_zero", "not:rejects_reservations",
              "instrument:ev"),
)

FAULT = "state_e"


async def test_tc_050_1_cs(case, bench):
    connectors = range(1, case.rig.station.connectors + 1)
    for n in connectors:
        await plugged_preparing(case, n)
    try:
        for n in connectors:
            with case.step(f"inject a hardware fault on connector {n}: Faulted"):
                before = time.monotonic_ns()
                await bench.inject_fault(FAULT, n)
                await expect_status(case, n, "Faulted", after=before)
        with case.step("ReserveNow(connector 0): Faulted"):
            await reserve(case, 0, case.card(), "Faulted")
    finally:  # never leave a fault on the rig for the next case
        for n in connectors:
            await bench.inject_fault(FAULT, n, on=False)

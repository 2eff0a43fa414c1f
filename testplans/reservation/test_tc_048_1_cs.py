"""TC_048_1_CS Reservation of a Connector – Faulted (docs/catalogue.md; OCTT CSMS p165).

An EV is plugged in and a hardware fault injected through it (CP shorted to PE, as TC_041):
StatusNotification(Faulted); ReserveNow(connector) -> Faulted; the fault is cleared and the EV
unplugged.
"""

import time

import pytest

from testplans.ocpp import expect_status
from testplans.reservations import reserve
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt(
    "TC_048_1_CS", "Reservation of a Connector – Faulted",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev"),
)

FAULT = "state_e"  # the EV emulator shorts CP to PE


async def test_tc_048_1_cs(case, bench):
    n = case.connector
    await plugged_preparing(case, n)
    try:
        with case.step(f"inject a hardware fault on connector {n}: Faulted"):
            before = time.monotonic_ns()
            await bench.inject_fault(FAULT, n)
            await expect_status(case, n, "Faulted", after=before)
        with case.step("ReserveNow: Faulted"):
            await reserve(case, n, case.card(), "Faulted")
    finally:  # never leave the fault on the rig for the next case
        await bench.inject_fault(FAULT, n, on=False)

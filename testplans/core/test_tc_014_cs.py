"""TC_014_CS Soft Reset Without transaction (docs/catalogue.md; TZ name, steps as TC_013, OCTT p24).

ChangeAvailability(connector, Inoperative) -> Accepted; StatusNotification(Unavailable);
Reset(Soft) -> Accepted; the station reboots: BootNotification; StatusNotification for
connector 0 and every connector, the connector still Unavailable (availability persists);
ChangeAvailability(Operative) -> Accepted; StatusNotification(Available).
Measures ChangeAvailability -> StatusNotification and Reset -> BootNotification.
"""

import pytest

from testplans.reset import reset_without_transaction

pytestmark = pytest.mark.octt("TC_014_CS", "Soft Reset Without transaction")


async def test_tc_014_cs(case):
    await reset_without_transaction(case, "Soft")

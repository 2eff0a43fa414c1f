"""TC_013_CS Hard Reset Without transaction (docs/catalogue.md; OCTT p24).

ChangeAvailability(connector, Inoperative) -> Accepted; StatusNotification(Unavailable);
Reset(Hard) -> Accepted; the station reboots: BootNotification; StatusNotification for
connector 0 and every connector, the connector still Unavailable (availability persists);
ChangeAvailability(Operative) -> Accepted; StatusNotification(Available).
Measures ChangeAvailability -> StatusNotification and Reset -> BootNotification.
"""

import pytest

from testplans.reset import reset_without_transaction

pytestmark = pytest.mark.octt("TC_013_CS", "Hard Reset Without transaction")


async def test_tc_013_cs(case):
    await reset_without_transaction(case, "Hard")

"""TC_015_CS Hard Reset With Transaction (docs/catalogue.md; OCTT p26).

Charging; Reset(Hard) -> Accepted; StopTransaction(reason HardReset) either before the reboot
or after it; when it comes before, StatusNotification(Finishing) too (before the reboot, or as
the connector's status after it); BootNotification; StatusNotification for connector 0 and
every connector: the transaction's connector Finishing or Preparing, the others Available.
Measures Reset -> BootNotification. The EV stays plugged in throughout.
"""

import pytest

from testplans.reset import reset_with_transaction
from testplans.states import charging

pytestmark = pytest.mark.octt("TC_015_CS", "Hard Reset With Transaction",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_015_cs(case):
    session = await charging(case)
    await reset_with_transaction(case, session, "Hard")

"""TC_016_CS Soft Reset With Transaction (docs/catalogue.md; EV
`test_soft_reset_with_transaction`; steps as TC_015, INF).

Charging; Reset(Soft) -> Accepted; StopTransaction(reason SoftReset) before the reboot (a soft
reset ends transactions normally first, OCPP 1.6 §5.14) and StatusNotification(Finishing);
BootNotification; StatusNotification for connector 0 and every connector: the transaction's
connector Finishing or Preparing, the others Available. The EV stays plugged in.
"""

import pytest

from testplans.reset import reset_with_transaction
from testplans.states import charging

pytestmark = pytest.mark.octt("TC_016_CS", "Soft Reset With Transaction",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_016_cs(case):
    session = await charging(case)
    await reset_with_transaction(case, session, "Soft")

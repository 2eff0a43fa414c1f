"""TC_005_1_CS EV Side Disconnected – StopTransactionOnEVSideDisconnect=true,
UnlockConnectorOnEVSideDisconnect=true (docs/catalogue.md; OCTT p13). Requires a socket.

Charging; UNPLUG-EV -> StopTransaction(reason EVDisconnected) and StatusNotification(Finishing);
UNPLUG-CP -> StatusNotification(Available).
"""

import pytest

from testplans.ocpp import expect_status
from testplans.states import charging, stopped

pytestmark = pytest.mark.octt(
    "TC_005_1_CS",
    "EV Side Disconnected – StopTransactionOnEVSideDisconnect=true, "
    "UnlockConnectorOnEVSideDisconnect=true",
    requires=("socket", "instrument:ev", "instrument:card"),
    config={"StopTransactionOnEVSideDisconnect": "true",
            "UnlockConnectorOnEVSideDisconnect": "true", "MinimumStatusDuration": "0"},
)


async def test_tc_005_1_cs(case, bench):
    session = await charging(case)
    n = session.connector
    with case.step("unplug at the EV side"):
        unplugged = await bench.unplug(n)
        stop = await stopped(case, session.transaction_id, n, "EVDisconnected", after=unplugged)
    with case.step("unplug the cable at the station"):
        await expect_status(case, n, "Available", after=stop.mono_ns)

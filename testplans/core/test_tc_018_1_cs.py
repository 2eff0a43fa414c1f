"""TC_018_1_CS Unlock Connector – With Charging Session (Not fixed cable) (docs/catalogue.md;
OCTT p30). Requires a socket.

Charging; UnlockConnector -> Unlocked; StopTransaction (reason UnlockCommand) and
StatusNotification(Finishing), either order (docs/catalogue.md, OCTT conventions); the cable
is taken out (UNPLUG: the EV end, then the station end, which the unlock must have freed) ->
StatusNotification(Available).
"""

import time

import pytest

from testplans.ocpp import check_answer, expect_status
from testplans.socket import pull_from_station
from testplans.states import charging, stopped

pytestmark = pytest.mark.octt(
    "TC_018_1_CS", "Unlock Connector – With Charging Session (Not fixed cable)",
    requires=("socket", "instrument:ev", "instrument:card"),
)


async def test_tc_018_1_cs(case, station, bench):
    session = await charging(case)
    n, tx = session.connector, session.transaction_id

    with case.step(f"UnlockConnector({n}): Unlocked"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, "Unlocked", "UnlockConnector")
    with case.step("StopTransaction(reason UnlockCommand) and StatusNotification(Finishing)"):
        await stopped(case, tx, n, "UnlockCommand", after=res.sent_mono_ns)

    with case.step("the cable is taken out (EV side, then the station's socket): Available"):
        before = time.monotonic_ns()
        await bench.unplug_ev_side(n)
        await pull_from_station(case, n, "UnlockConnector answered Unlocked")
        await expect_status(case, n, "Available", after=before)

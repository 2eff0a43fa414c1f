"""TC_030_CS Unlock Connector – Unlock Failure (docs/catalogue.md; TZ name; steps INF).
Requires a connector lock that can be made to fail (and a socket: a fixed cable has no lock
to release).

The rig holds the connector's lock so that it cannot open; UnlockConnector(connectorId) ->
UnlockFailed; the lock is let go again afterwards.

Holding the lock is `bench.hold_lock(connector, held)` (a socket rig's actuator that keeps the
pin engaged; the verb reads the rig's own lock sensor back); a rig without one cannot run the
case (ERROR, not FAIL).
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt("TC_030_CS", "Unlock Connector – Unlock Failure",
                              requires=("socket", "connector_lock"))


async def test_tc_030_cs(case, station, bench):
    n = case.connector
    await bench.hold_lock(n, True)
    try:
        with case.step(f"UnlockConnector(connector {n}) with the lock held: UnlockFailed"):
            res = await station.call("UnlockConnector", {"connectorId": n})
            check_answer(case, res, "UnlockFailed", "UnlockConnector")
    finally:
        await bench.hold_lock(n, False)

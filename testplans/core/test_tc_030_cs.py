"""TC_030_CS Unlock Connector – Unlock Failure (catalogue §1.1; TZ name; steps INF).
Requires a connector lock that can be made to fail (and a socket: a fixed cable has no lock
to release).

The rig holds the connector's lock so that it cannot open ([hardware] connector_lock = true
declares that it can); UnlockConnector(connectorId) -> UnlockFailed.
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt("TC_030_CS", "Unlock Connector – Unlock Failure",
                              requires=("socket", "connector_lock"))


async def test_tc_030_cs(case, station):
    n = case.connector
    with case.step(f"UnlockConnector(connector {n}) with the lock held: UnlockFailed"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, "UnlockFailed", "UnlockConnector")

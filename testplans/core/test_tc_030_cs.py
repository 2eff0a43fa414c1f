"""TC_030_CS Unlock Connector – Unlock Failure (docs/catalogue.md; TZ name; steps INF).
Requires a connector lock that can be made to fail (and a socket: a fixed cable has no lock
to release).

The rig holds the connector's lock so that it cannot open; UnlockConnector(connectorId) ->
UnlockFailed; the lock is let go again afterwards.

Holding the lock needs a verb of its own (`bench.hold_lock(connector, on)`); a rig without
one cannot run the case (ERROR, not FAIL).
"""

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt("TC_030_CS", "Unlock Connector – Unlock Failure",
                              requires=("socket", "connector_lock"))


async def test_tc_030_cs(case, station, bench):
    hold_lock = getattr(bench, "hold_lock", None)
    if hold_lock is None:
        raise BenchFault("TC_030_CS needs a verb that holds the connector lock so that it "
                         "cannot open (bench.hold_lock); bench.verbs has none")
    n = case.connector
    await hold_lock(n, True)
    try:
        with case.step(f"UnlockConnector(connector {n}) with the lock held: UnlockFailed"):
            res = await station.call("UnlockConnector", {"connectorId": n})
            check_answer(case, res, "UnlockFailed", "UnlockConnector")
    finally:
        await hold_lock(n, False)

"""TC_017_1_CS Unlock connector – no charging session running (Not fixed cable)
(docs/catalogue.md; OCTT CSMS-side p135). Requires a socket.

No session on the connector; UnlockConnector(connectorId) -> Unlocked.
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt(
    "TC_017_1_CS", "Unlock connector – no charging session running (Not fixed cable)",
    requires=("socket",))


async def test_tc_017_1_cs(case, station):
    n = case.connector
    with case.step(f"UnlockConnector(connector {n}): Unlocked"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, "Unlocked", "UnlockConnector")

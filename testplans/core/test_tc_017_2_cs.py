"""TC_017_2_CS Unlock connector – no charging session running (Fixed cable)
(docs/catalogue.md; OCTT p29). Requires a fixed cable.

No session on the connector; UnlockConnector(connectorId) -> NotSupported (a fixed cable has
no retention lock to release).
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt(
    "TC_017_2_CS", "Unlock connector – no charging session running (Fixed cable)",
    requires=("fixed_cable",))


async def test_tc_017_2_cs(case, station):
    n = case.connector
    with case.step(f"UnlockConnector(connector {n}): NotSupported"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, "NotSupported", "UnlockConnector")

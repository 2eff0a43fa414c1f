"""TC_003_CS Regular Charging Session – Plugin First (docs/catalogue.md; OCTT p9).

PLUG -> StatusNotification(Preparing); card -> Authorize -> Accepted; StartTransaction
(connectorId, idTag, meterStart, timestamp) and StatusNotification(Charging), either order.
"""

import pytest

from testplans.ocpp import clock_offset_s
from testplans.states import charging

pytestmark = pytest.mark.octt("TC_003_CS", "Regular Charging Session – Plugin First",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_003_cs(case):
    session = await charging(case)  # plug, Preparing, card, Authorize, Start & Charging
    clock_offset_s(case, session.start)
    case.passed(f"transaction {session.transaction_id} charging on connector {session.connector}")

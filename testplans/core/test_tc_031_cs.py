"""TC_031_CS Unlock Connector – Unknown Connector (docs/catalogue.md; TZ name, OCTT CSMS-side p146).

GetConfiguration(NumberOfConnectors) = N; UnlockConnector(connectorId N + 1) -> NotSupported.
"""

import pytest

from testplans.ocpp import check_answer, get_config

pytestmark = pytest.mark.octt("TC_031_CS", "Unlock Connector – Unknown Connector")


async def test_tc_031_cs(case, station):
    value = (await get_config(case, "NumberOfConnectors"))["NumberOfConnectors"]
    case.check(str(value).strip().isdigit(), "NumberOfConnectors to be an integer",
               f"reported {value!r}")
    unknown = int(value) + 1
    with case.step(f"UnlockConnector(connector {unknown}, beyond NumberOfConnectors): "
                   "NotSupported"):
        res = await station.call("UnlockConnector", {"connectorId": unknown})
        check_answer(case, res, "NotSupported", "UnlockConnector")

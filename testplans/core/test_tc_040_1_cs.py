"""TC_040_1_CS Configuration key – NotSupported (docs/catalogue.md; OCTT p53).

ChangeConfiguration(key "Testing", value "true") -> NotSupported (the key does not exist).
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt("TC_040_1_CS", "Configuration key – NotSupported")


async def test_tc_040_1_cs(case, station):
    with case.step("ChangeConfiguration(Testing=true): NotSupported"):
        res = await station.call("ChangeConfiguration", {"key": "Testing", "value": "true"})
        check_answer(case, res, "NotSupported", "ChangeConfiguration(Testing=true)")

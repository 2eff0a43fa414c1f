"""TC_043_3_CS Send Local Authorization List – Failed (docs/catalogue.md; OCTT p59).

Prerequisite the rig declares: the station is in a state where storing a list fails
([hardware] local_list_store_fails). SendLocalList(Full, version 2) -> Failed (OCPP 1.6
§7.43).
"""

import pytest

from testplans.local_list import entry, send_list

pytestmark = pytest.mark.octt(
    "TC_043_3_CS", "Send Local Authorization List – Failed",
    requires=("profile:LocalAuthListManagement", "local_auth_list", "local_list_store_fails"),
    config={"LocalAuthListEnabled": "true"},
)


async def test_tc_043_3_cs(case):
    case.unverifiable("the station cannot store a local list",
                      "the rig declares it ([hardware] local_list_store_fails); the bench "
                      "cannot see the station's storage")
    with case.step("SendLocalList(Full, version 2): Failed"):
        await send_list(case, "Full", 2, [entry(case.card())], expected="Failed")

"""TC_042_2_CS Get Local List Version – empty (docs/catalogue.md; OCTT p56).

LocalAuthListEnabled=true; SendLocalList(Full, version 1, no list) -> Accepted;
GetLocalListVersion -> 0 (OCPP 1.6 §5.8: 0 = the list is empty, whatever version came with it).
"""

import pytest

from testplans.local_list import list_version, send_list

pytestmark = pytest.mark.octt(
    "TC_042_2_CS", "Get Local List Version (empty)",
    requires=("profile:LocalAuthListManagement", "local_auth_list", "not:local_list_store_fails"),
    config={"LocalAuthListEnabled": "true"},
)


async def test_tc_042_2_cs(case):
    with case.step("SendLocalList(Full, version 1, no list): Accepted"):
        await send_list(case, "Full", 1, [])
    with case.step("GetLocalListVersion: 0 (the list is empty)"):
        await list_version(case, 0, "an empty list reads 0, OCPP 1.6 §5.8")

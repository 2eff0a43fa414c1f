"""TC_043_2_CS Send Local Authorization List – VersionMismatch (docs/catalogue.md; OCTT p58).

SendLocalList(Full, version 2) -> Accepted; GetLocalListVersion -> 2; SendLocalList(
Differential, version 5) -> Accepted; GetLocalListVersion -> 5; SendLocalList(Differential,
version 4: not newer) -> VersionMismatch (OCPP 1.6 §7.43); the list keeps version 5.
"""

import pytest

from testplans.local_list import entry, list_version, send_list

pytestmark = pytest.mark.octt(
    "TC_043_2_CS", "Send Local Authorization List – VersionMismatch",
    requires=("profile:LocalAuthListManagement", "local_auth_list", "not:local_list_store_fails"),
    config={"LocalAuthListEnabled": "true"},
)


async def test_tc_043_2_cs(case):
    first, second, third = case.card("valid"), case.card("valid2"), case.card("group_member")
    with case.step("SendLocalList(Full, version 2): Accepted; version reads 2"):
        await send_list(case, "Full", 2, [entry(first)])
        await list_version(case, 2)
    with case.step("SendLocalList(Differential, version 5): Accepted; version reads 5"):
        await send_list(case, "Differential", 5, [entry(second)])
        await list_version(case, 5)
    with case.step("SendLocalList(Differential, version 4): VersionMismatch"):
        await send_list(case, "Differential", 4, [entry(third)], expected="VersionMismatch")
        await list_version(case, 5, "the refused update changed nothing")

"""TC_043_1_CS Send Local Authorization List – NotSupported (docs/catalogue.md; OCTT p57).

LocalAuthListEnabled=false; SendLocalList(Full) -> status NotSupported (OCPP 1.6 §7.43:
the local list is not supported) or CALLERROR NotSupported; both are accepted.
"""

import pytest

from testplans.local_list import entry

pytestmark = pytest.mark.octt(
    "TC_043_1_CS", "Send Local Authorization List – NotSupported",
    requires=("profile:LocalAuthListManagement",),
    config={"LocalAuthListEnabled": "false"},
)


async def test_tc_043_1_cs(case, station):
    with case.step("SendLocalList(Full): NotSupported"):
        res = await station.call("SendLocalList", {
            "listVersion": 1, "updateType": "Full",
            "localAuthorizationList": [entry(case.card())]})
        if res.error is not None:
            seen = f"answered CALLERROR {res.error.code} {res.error.description!r}"
            ok = res.error.code == "NotSupported"
        else:
            seen, ok = f"answered status={res.get('status')!r}", \
                res.get("status") == "NotSupported"
        case.check(ok, "SendLocalList.conf status NotSupported or CALLERROR NotSupported with "
                   "LocalAuthListEnabled=false", f"{seen} (seq {res.frame_seqs[1]})",
                   at=res.answered_mono_ns)

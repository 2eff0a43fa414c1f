"""TC_042_1_CS Get Local List Version – not supported (docs/catalogue.md; OCTT p55).

LocalAuthListEnabled=false; GetLocalListVersion -> listVersion -1 (OCPP 1.6 §5.8: -1 = no
local list) or CALLERROR NotSupported; both are accepted.
"""

import pytest

pytestmark = pytest.mark.octt(
    "TC_042_1_CS", "Get Local List Version (not supported)",
    requires=("profile:LocalAuthListManagement",),
    config={"LocalAuthListEnabled": "false"},
)


async def test_tc_042_1_cs(case, station):
    with case.step("GetLocalListVersion: -1 or CALLERROR NotSupported"):
        res = await station.call("GetLocalListVersion", {})
        if res.error is not None:
            seen = f"answered CALLERROR {res.error.code} {res.error.description!r}"
            ok = res.error.code == "NotSupported"
        else:
            seen, ok = f"answered listVersion={res.get('listVersion')!r}", \
                res.get("listVersion") == -1
        case.check(ok, "GetLocalListVersion.conf listVersion -1 or CALLERROR NotSupported "
                   "with LocalAuthListEnabled=false", f"{seen} (seq {res.frame_seqs[1]})",
                   at=res.answered_mono_ns)

"""TC_084_CS Security profile – no fall back to a lower profile (docs/catalogue.md).

The whitepaper lets SecurityProfile only go up: ChangeConfiguration(SecurityProfile = the
current one - 1) -> Rejected, and GetConfiguration still reads the current one. (Inference:
the OCTT names no such case; the catalogue lists EVerest's fallback test.)
"""

import pytest

from testplans.ocpp import check_answer, get_config

pytestmark = pytest.mark.octt("TC_084_CS", "Security profile – no fall back to a lower "
                              "profile", requires=("profile:Security",))


async def test_tc_084_cs(case, station):
    current = int((await get_config(case, "SecurityProfile"))["SecurityProfile"] or 0)
    case.check(current > 0, "the station above security profile 0 (something to fall from)",
               f"reads SecurityProfile {current}")
    with case.step(f"ChangeConfiguration(SecurityProfile = {current - 1}): Rejected"):
        res = await station.call("ChangeConfiguration",
                                 {"key": "SecurityProfile", "value": str(current - 1)})
        check_answer(case, res, "Rejected", f"ChangeConfiguration(SecurityProfile "
                     f"{current} -> {current - 1})")
    with case.step(f"SecurityProfile still {current}"):
        after = (await get_config(case, "SecurityProfile"))["SecurityProfile"]
        case.check(after == str(current), f"SecurityProfile {current}", f"reads {after}")

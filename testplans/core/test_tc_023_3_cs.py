"""TC_023_3_CS Start Charging Session – Authorize blocked (docs/catalogue.md; OCTT p37, TC_023_CS).

MinimumStatusDuration=`refused_card_min_status_s` (10, as OCTT), LocalPreAuthorize=true; card
(<Configured blocked IdTag>) -> Authorize -> the bench answers Blocked; PLUG ->
StatusNotification(Preparing); the station never starts a transaction. The flow is
TC_023_1_CS's.
"""

import pytest

from testplans.refused_card import refused_card_no_start

pytestmark = pytest.mark.octt(
    "TC_023_3_CS", "Start Charging Session – Authorize blocked",
    requires=("instrument:ev", "instrument:card"),
    config={"MinimumStatusDuration": "{refused_card_min_status_s}",
            "LocalPreAuthorize": "true"},
)


async def test_tc_023_3_cs(case):
    await refused_card_no_start(case, "blocked", "Blocked")

"""TC_023_2_CS Start Charging Session – Authorize expired (docs/catalogue.md; OCTT p37, TC_023_CS).

MinimumStatusDuration=`refused_card_min_status_s` (10, as OCTT), LocalPreAuthorize=true; card
(<Configured expired IdTag>) -> Authorize -> the bench answers Expired; PLUG ->
StatusNotification(Preparing); the station never starts a transaction. The flow is
TC_023_1_CS's.
"""

import pytest

from testplans.refused_card import refused_card_no_start

pytestmark = pytest.mark.octt(
    "TC_023_2_CS", "Start Charging Session – Authorize expired",
    requires=("instrument:ev", "instrument:card"),
    config={"MinimumStatusDuration": "{refused_card_min_status_s}",
            "LocalPreAuthorize": "true"},
)


async def test_tc_023_2_cs(case):
    await refused_card_no_start(case, "expired", "Expired")

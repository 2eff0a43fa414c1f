"""TC_023_1_CS Start Charging Session – Authorize invalid (docs/catalogue.md; OCTT p37, TC_023_CS).

MinimumStatusDuration=`refused_card_min_status_s` (10, as OCTT), LocalPreAuthorize=true; card
(<Configured invalid IdTag>) -> Authorize -> the bench answers Invalid; PLUG ->
StatusNotification(Preparing); the station never starts a transaction (none until `watch_s`
after the Preparing). TC_023_2_CS (expired) and TC_023_3_CS (blocked) run the same flow with
their card.
"""

import pytest

from testplans.refused_card import refused_card_no_start

pytestmark = pytest.mark.octt(
    "TC_023_1_CS", "Start Charging Session – Authorize invalid",
    requires=("instrument:ev", "instrument:card"),
    config={"MinimumStatusDuration": "{refused_card_min_status_s}",
            "LocalPreAuthorize": "true"},
)


async def test_tc_023_1_cs(case):
    await refused_card_no_start(case, "invalid", "Invalid")

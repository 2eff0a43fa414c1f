"""TC_061_CS Clear Authorization Data in Authorization Cache (docs/catalogue.md; OCTT p17).
Requires an authorization cache.

AuthorizationCacheEnabled=true, LocalPreAuthorize=true, ConnectionTimeOut set; Authorized:
card -> Authorize (Accepted) -> Preparing; no plug -> Available after ConnectionTimeOut (the
card is now cached); ClearCache -> Accepted; the same card -> the station sends Authorize
again (the cache is empty); its start times out again (Available) so nothing is left pending.
"""

import pytest

from bench.csms.errors import ExpectTimeout
from testplans.core.test_tc_007_cs import cache_card
from testplans.ocpp import check_answer, expect, expect_status
from testplans.states import swipe

pytestmark = pytest.mark.octt(
    "TC_061_CS", "Clear Authorization Data in Authorization Cache",
    requires=("cache", "instrument:card"),
    config={"AuthorizationCacheEnabled": "true", "LocalPreAuthorize": "true",
            "ConnectionTimeOut": "{connection_timeout_s}"},
)


async def test_tc_061_cs(case, station):
    n, card = case.connector, case.card()
    await cache_card(case, card)

    with case.step("ClearCache: Accepted"):
        res = await station.call("ClearCache", {})
        check_answer(case, res, "Accepted", "ClearCache")

    with case.step(f"present card {card.tag} again: Authorize (the cache was cleared)"):
        before, _ = await swipe(case, card.tag)
        try:
            auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
        except ExpectTimeout:
            case.check(False, f"Authorize for {card.id_tag} after ClearCache (the cache is empty)",
                       f"sent no Authorize within {case.timeout:g} s: it still authorized the "
                       "card from the cache it was told to clear")
        sn = await expect_status(case, n, "Preparing", after=auth.mono_ns)
    with case.step("no plug: Available after ConnectionTimeOut"):
        await expect_status(case, n, "Available", after=sn.mono_ns + 1,
                            within=float(case.setting("connection_timeout_s")) + case.timeout)

"""TC_007_CS Regular Start Charging Session – Cached Id (docs/catalogue.md; OCTT p16).
Requires an authorization cache.

AuthorizationCacheEnabled=true, LocalPreAuthorize=true; memory state IdTagCached (the card is
authorized once: Authorize -> Accepted, Preparing, no plug, back to Available after
ConnectionTimeOut); the card again -> StatusNotification(Preparing) at once from the cache, no
Authorize (OCPP 1.6 §9.1 LocalPreAuthorize: without waiting for or requesting an
Authorize.conf); PLUG ->
StartTransaction and StatusNotification(Charging), either order.
"""

import time

import pytest

from testplans.ocpp import expect, expect_status
from testplans.states import left_unplugged, plug_in, started, swipe

pytestmark = pytest.mark.octt(
    "TC_007_CS", "Regular Start Charging Session – Cached Id",
    requires=("cache", "instrument:ev", "instrument:card"),
    config={"AuthorizationCacheEnabled": "true", "LocalPreAuthorize": "true",
            "ConnectionTimeOut": "{connection_timeout_s}"},
)


async def cache_card(case, card) -> None:
    """Memory state IdTagCached: the card authorized online, then the start times out."""
    n = case.connector
    await left_unplugged(case, n)
    with case.step(f"IdTagCached: card {card.tag} ({card.id_tag}) authorized, no plug"):
        before, _ = await swipe(case, card.tag)
        auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
        sn = await expect_status(case, n, "Preparing", after=auth.mono_ns)
        await expect_status(case, n, "Available", after=sn.mono_ns + 1,
                            within=float(case.setting("connection_timeout_s")) + case.timeout)


async def test_tc_007_cs(case, station):
    n, card = case.connector, case.card()
    await cache_card(case, card)

    with case.step(f"present card {card.tag} again: Preparing from the cache, no Authorize"):
        before, _ = await swipe(case, card.tag)
        sn = await expect_status(case, n, "Preparing", after=before)
        auths = [m for m in station.received("Authorize")
                 if m.mono_ns >= before and m.payload.get("idTag") == card.id_tag]
        case.check(not auths, f"no Authorize for the cached idTag {card.id_tag} "
                   "(LocalPreAuthorize=true)",
                   f"sent Authorize (seq {auths[0].seq if auths else ''})")

    with case.step(f"plug the EV into connector {n}: the transaction starts"):
        plugged = time.monotonic_ns()
        await plug_in(case, n)
        with station.forbid("Authorize", {"idTag": card.id_tag}):
            session = await started(case, n, card.id_tag, after=max(plugged, sn.mono_ns))
    case.passed(f"transaction {session.transaction_id} started from the cache")

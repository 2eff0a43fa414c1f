"""TC_008_CS Regular Start Charging Session – Id in Local Authorization List
(docs/catalogue.md; OCTT p60). Requires the LocalAuthListManagement profile.

LocalPreAuthorize=true, LocalAuthListEnabled=true, AuthorizationCacheEnabled=false (if the
station has the key); GetLocalListVersion; SendLocalList(Full, newer version, the card) ->
Accepted; the card -> StatusNotification(Preparing) with no Authorize (OCPP 1.6 §3.5 /
§9.1 LocalPreAuthorize: a listed idTag starts without asking the CSMS); PLUG ->
StartTransaction and StatusNotification(Charging), either order, still no Authorize; energy
flows.
"""

import time

import pytest

from testplans.local_list import entry, list_version, next_version, send_list
from testplans.ocpp import expect_status
from testplans.states import check_current_flows, left_unplugged, plug_in, started, swipe

pytestmark = pytest.mark.octt(
    "TC_008_CS", "Regular Start Charging Session – Id in Local Authorization List",
    requires=("profile:LocalAuthListManagement", "local_auth_list", "not:local_list_store_fails",
              "instrument:ev", "instrument:card"),
    config={"LocalPreAuthorize": "true", "LocalAuthListEnabled": "true",
            "AuthorizationCacheEnabled": "false"},
)


async def test_tc_008_cs(case, station):
    n, card = case.connector, case.card()
    await left_unplugged(case, n)
    with case.step("GetLocalListVersion; SendLocalList(Full) with the card: Accepted"):
        version = next_version(await list_version(case))
        await send_list(case, "Full", version, [entry(card)])

    with station.forbid("Authorize", {"idTag": card.id_tag}):
        with case.step(f"present card {card.tag}: Preparing from the list, no Authorize"):
            before, _ = await swipe(case, card.tag)
            sn = await expect_status(case, n, "Preparing", after=before,
                                     trigger="the card was presented")
        with case.step(f"plug the EV into connector {n}: the transaction starts"):
            plugged = time.monotonic_ns()
            await plug_in(case, n)
            session = await started(case, n, card.id_tag, after=max(plugged, sn.mono_ns))
    await check_current_flows(case, n, "of the StartTransaction")
    case.passed(f"transaction {session.transaction_id} started from the local list "
                "without an Authorize")

"""TC_043_CS Send Local Authorization List – Full and Differential (docs/catalogue.md; OCTT
p57, the older TC_043_4 Full / TC_043_5 Differential).

SendLocalList(Full, v+1, cards valid and valid2) -> Accepted; GetLocalListVersion -> v+1;
SendLocalList(Differential, v+2: valid2 without idTagInfo = removed, group_member added) ->
Accepted; GetLocalListVersion -> v+2. The list's effect, checked physically: with
LocalAuthorizeOffline=true, AllowOfflineTxForUnknownId=false and no cache, NET−; PLUG and the
card valid (listed by the Full update, left alone by the Differential one): the transaction
starts offline (current flows), which only the list can authorize (an inference: nothing
else the station holds knows the card); NET+ -> StartTransaction and
StatusNotification(Charging). Then card valid2, which the Differential update removed: with
LocalPreAuthorize=true the station must ask the CSMS (Authorize), it is no longer listed
(OCPP 1.6 §3.5, §9.1 LocalPreAuthorize); the bench answers that Authorize Invalid, so that
nothing starts.
"""

import pytest

from testplans.local_list import entry, list_version, next_version, send_list
from testplans.ocpp import expect, expect_any_order
from testplans.offline import cut_network, reconnected, start_offline
from testplans.states import check_start_payload, left_unplugged, swipe

pytestmark = pytest.mark.octt(
    "TC_043_CS", "Send Local Authorization List",
    requires=("profile:LocalAuthListManagement", "local_auth_list", "not:local_list_store_fails",
              "instrument:ev", "instrument:card", "instrument:network"),
    config={"LocalAuthListEnabled": "true", "LocalAuthorizeOffline": "true",
            "LocalPreAuthorize": "true", "AllowOfflineTxForUnknownId": "false",
            "AuthorizationCacheEnabled": "false"},
)


async def test_tc_043_cs(case, station):
    n = case.connector
    kept, removed, added = case.card("valid"), case.card("valid2"), case.card("group_member")
    await left_unplugged(case, n)
    with case.step(f"SendLocalList(Full) with {kept.tag} and {removed.tag}: Accepted"):
        full = next_version(await list_version(case))
        await send_list(case, "Full", full, [entry(kept), entry(removed)])
        await list_version(case, full)
    with case.step(f"SendLocalList(Differential): {removed.tag} removed, {added.tag} added"):
        await send_list(case, "Differential", full + 1,
                        [entry(removed, with_info=False), entry(added)])
        await list_version(case, full + 1)

    cut = await cut_network(case)
    await start_offline(case, kept)
    await reconnected(case, "offline start from the local list")
    with case.step("queued StartTransaction and StatusNotification(Charging)"):
        start, _ = await expect_any_order(
            case, ("StartTransaction", {"connectorId": n}),
            ("StatusNotification", {"connectorId": n, "status": "Charging"}), after=cut)
        check_start_payload(case, start, n, kept.id_tag)
    with case.step(f"card {removed.tag}, removed by the Differential update: Authorize"):
        # answered Invalid: the station starts nothing (the maintenance resets the responder)
        station.responders.override("Authorize", {"idTagInfo": {"status": "Invalid"}})
        before, _ = await swipe(case, removed.tag)
        await expect(case, "Authorize", {"idTag": removed.id_tag}, after=before,
                     trigger=f"card {removed.tag} (no longer listed) was presented")
    case.passed(f"card {kept.tag} started offline from the list after the Differential update")

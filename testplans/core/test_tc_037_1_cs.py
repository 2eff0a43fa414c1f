"""TC_037_1_CS Offline Start Transaction – Valid IdTag (docs/catalogue.md; OCTT p48).

SmartDC authorises offline through AllowOfflineTxForUnknownId=true (no cache, no local list,
LocalAuthorizeOffline=false). NET−; PLUG and the valid card offline: the transaction starts
(current flows); NET+ -> StartTransaction (idTag, connectorId, meterStart, timestamp in the
offline window; answered Accepted) and StatusNotification(Charging), either order; current
keeps flowing.
"""

import asyncio

import pytest

from testplans.ocpp import expect_any_order
from testplans.offline import check_in_offline_window, cut_network, reconnected, start_offline
from testplans.states import check_current, check_start_payload, transaction_id_of

pytestmark = pytest.mark.octt(
    "TC_037_1_CS", "Offline Start Transaction – Valid IdTag",
    requires=("offline_auth", "instrument:ev", "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true"},
)


async def test_tc_037_1_cs(case):
    n, card = case.connector, case.card()
    cut = await cut_network(case)
    await start_offline(case, card)
    back_online = await reconnected(case, "offline start")

    with case.step("queued StartTransaction and StatusNotification(Charging)"):
        start, _ = await expect_any_order(
            case, ("StartTransaction", {"connectorId": n}),
            ("StatusNotification", {"connectorId": n, "status": "Charging"}), after=cut)
        check_start_payload(case, start, n, card.id_tag)
        tx_id = await transaction_id_of(case, start)
    check_in_offline_window(case, start, "StartTransaction", back_online)
    watch_s = float(case.setting("watch_s"))
    with case.step(f"transaction {tx_id} accepted: current still flows {watch_s:g} s later"):
        await asyncio.sleep(watch_s)
        await check_current(case, n, True, f"{watch_s:g} s after StartTransaction.conf",
                            "StartTransaction.conf Accepted: the transaction goes on")

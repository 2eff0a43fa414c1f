"""TC_037_2_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false
(docs/catalogue.md; EVerest test_offline_start_transaction_restore).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=false; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> the transaction stays (no StopTransaction) but the energy stops:
StatusNotification(SuspendedEVSE) and no current (EV emulator; reference meter where it sits
on this connector); local stop with the same card -> StopTransaction (reason Local or absent).
"""

import asyncio

import pytest

from testplans.ocpp import expect, expect_status
from testplans.offline import unknown_card_started_offline
from testplans.states import check_current, check_stop_reason, swipe

pytestmark = pytest.mark.octt(
    "TC_037_2_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false",
    requires=("offline_auth", "config_rw:AllowOfflineTxForUnknownId", "local_stop",
              "instrument:ev", "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "false"},
    measures=("deauthorized.energy_stop",),
)



async def test_tc_037_2_cs(case, station):
    n = case.connector
    watch_s = float(case.setting("watch_s"))
    card, start, tx_id = await unknown_card_started_offline(case)

    with case.step("the transaction stays, SuspendedEVSE, the energy stops"), \
            station.forbid("StopTransaction", {"transactionId": tx_id}):
        await expect(case, "StatusNotification", {"connectorId": n, "status": "SuspendedEVSE"},
                     after=start.mono_ns)
        stopped = await check_current(case, n, False, "of StartTransaction.conf Invalid",
                                      "the transaction is de-authorised: the energy stops")
        case.measure("deauthorized.energy_stop", (stopped.stamp_ns - start.mono_ns) / 1e9,
                     evidence=[start.seq])
        await asyncio.sleep(watch_s)
    case.passed(f"transaction {tx_id} kept (no StopTransaction) for {watch_s:g} s (setting "
                "watch_s: the text sets no window)")

    with case.step(f"local stop: present card {card.tag} again"):
        before, _ = await swipe(case, card.tag)
        stop = await expect(case, "StopTransaction", {"transactionId": tx_id}, after=before)
        check_stop_reason(case, stop, "Local", "StopTransaction reason Local (or absent)")
        await expect_status(case, n, "Finishing", after=before)

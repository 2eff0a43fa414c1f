"""TC_037_3_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true
(docs/catalogue.md; TZ test_tc_037_3_csms.py; EVerest ..._restore_flow).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=true; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> StopTransaction (reason DeAuthorized) and StatusNotification(Finishing),
either order; the energy stops.
"""

import pytest

from testplans.offline import unknown_card_started_offline
from testplans.states import check_current, stopped

pytestmark = pytest.mark.octt(
    "TC_037_3_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true",
    requires=("offline_auth", "config_rw:AllowOfflineTxForUnknownId", "instrument:ev",
              "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "true"},
    measures=("deauthorized.stop",),
)


async def test_tc_037_3_cs(case):
    n = case.connector
    _, start, tx_id = await unknown_card_started_offline(case)

    with case.step("StopTransaction(reason DeAuthorized) and StatusNotification(Finishing)"):
        stop = await stopped(case, tx_id, n, "DeAuthorized", after=start.mono_ns)
        await check_current(case, n, False, "of the StopTransaction",
                            "the transaction was de-authorised")
    case.measure("deauthorized.stop", (stop.mono_ns - start.mono_ns) / 1e9,
                 evidence=[start.seq, stop.seq])

"""TC_037_3_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true
(catalogue §1.1 and §3.1; TZ test_tc_037_3_csms.py; EVerest ..._restore_flow).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=true; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> StopTransaction (reason DeAuthorized) and StatusNotification(Finishing),
either order; the energy stops.
"""

import pytest

from testplans.offline import current_flows, unknown_card_started_offline
from testplans.states import stopped

pytestmark = pytest.mark.octt(
    "TC_037_3_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true",
    requires=("offline_auth", "instrument:ev", "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "true"},
    measures=("deauthorized.stop",),
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline start


async def test_tc_037_3_cs(case):
    n = case.connector
    _, start, tx_id = await unknown_card_started_offline(case, OFFLINE_S)

    with case.step("StopTransaction(reason DeAuthorized) and StatusNotification(Finishing)"):
        stop = await stopped(case, tx_id, n, "DeAuthorized", after=start.mono_ns)
        case.check(await current_flows(case, n, False) is not None,
                   "the energy to stop (transaction de-authorised)",
                   f"still delivered current {case.timeout:g} s after the StopTransaction")
    case.measure("deauthorized.stop", (stop.mono_ns - start.mono_ns) / 1e9,
                 evidence=[start.seq, stop.seq])

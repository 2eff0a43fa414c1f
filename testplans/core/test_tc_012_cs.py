"""TC_012_CS Remote Stop Charging Session (catalogue §1.1; OL p22).

Charging; RemoteStopTransaction(transactionId) -> Accepted; StopTransaction(reason Remote)
and StatusNotification(Finishing), either order; the power drops (reference meter).
"""

import pytest

from testplans.ocpp import check_answer
from testplans.states import charging, stopped

pytestmark = pytest.mark.octt("TC_012_CS", "Remote Stop Charging Session",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_012_cs(case, station):
    session = await charging(case)
    n = session.connector
    with case.step(f"RemoteStopTransaction({session.transaction_id}): Accepted"):
        res = await station.call("RemoteStopTransaction",
                                 {"transactionId": session.transaction_id})
        check_answer(case, res, "Accepted", "RemoteStopTransaction")
    with case.step("StopTransaction(reason Remote) and StatusNotification(Finishing)"):
        stop = await stopped(case, session.transaction_id, n, "Remote", after=res.sent_mono_ns)
    case.measure("triggered.remote_stop", (stop.mono_ns - res.sent_mono_ns) / 1e9,
                 evidence=[res.frame_seqs[0], stop.seq])

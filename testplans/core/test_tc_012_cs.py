"""TC_012_CS Remote Stop Charging Session (docs/catalogue.md; OCTT p22).

Charging, and the energy flows; RemoteStopTransaction(transactionId) -> Accepted;
StopTransaction(reason Remote) and StatusNotification(Finishing), either order; the power
drops: the output current (reference meter on the connector, else the EV emulator) falls below
the `current_threshold_a` setting. Measures RemoteStopTransaction -> StopTransaction and
RemoteStopTransaction -> current off (docs/checks.md "Transaction authorization end time by
RemoteStopTransaction", HIL: t(I_dc < threshold)).
"""

import pytest

from testplans.ocpp import check_answer
from testplans.states import (
    charging,
    check_current_flows,
    describe_current,
    stopped,
    watching_current,
)

pytestmark = pytest.mark.octt("TC_012_CS", "Remote Stop Charging Session",
                              requires=("instrument:ev", "instrument:card"),
                              measures=("triggered.remote_stop",
                                        "triggered.remote_stop_power_off"))


async def test_tc_012_cs(case, station):
    session = await charging(case)
    n = session.connector
    with case.step(f"energy flows on connector {n}"):
        await check_current_flows(case, n, "of StatusNotification(Charging)")

    # the watch starts before the CALL: the station may cut the power before it answers
    async with watching_current(case, n, False) as power_off:
        with case.step(f"RemoteStopTransaction({session.transaction_id}): Accepted"):
            res = await station.call("RemoteStopTransaction",
                                     {"transactionId": session.transaction_id})
            check_answer(case, res, "Accepted", "RemoteStopTransaction")
        with case.step("StopTransaction(reason Remote) and StatusNotification(Finishing)"):
            stop = await stopped(case, session.transaction_id, n, "Remote",
                                 after=res.sent_mono_ns)
        case.measure("triggered.remote_stop", (stop.mono_ns - res.sent_mono_ns) / 1e9,
                     evidence=[res.frame_seqs[0], stop.seq])
        with case.step(f"the power drops on connector {n}"):
            edge = await power_off.edge(case.timeout)
            case.check(edge.stamp_ns is not None,
                       f"{describe_current(case, False)} on connector {n} ({edge.source}) "
                       f"within {case.timeout:g} s of StopTransaction",
                       f"still delivered {edge.current_a:.2f} A {edge.watched_s:.1f} s after "
                       "RemoteStopTransaction")
            case.check(edge.stamp_ns >= res.sent_mono_ns,
                       "the energy to flow until RemoteStopTransaction",
                       f"cut it {(res.sent_mono_ns - edge.stamp_ns) / 1e9:.3f} s before the "
                       "CALL was sent")
    case.measure("triggered.remote_stop_power_off", (edge.stamp_ns - res.sent_mono_ns) / 1e9,
                 evidence=[res.frame_seqs[0]])

"""TC_005_2_CS EV Side Disconnected – StopTransactionOnEVSideDisconnect=true,
UnlockConnectorOnEVSideDisconnect=false (docs/catalogue.md; OCTT p14).

MinimumStatusDuration=0, Stop=true, Unlock=false; Charging; UNPLUG-EV -> StopTransaction
(reason EVDisconnected) and StatusNotification, either order; UnlockConnector -> answered;
with a socket the cable is then taken from the station -> StatusNotification(Available).

A fixed cable (SmartDC) has nothing left plugged once the EV is gone: the status after the
stop may be Finishing or Available, and UnlockConnector is answered NotSupported (as in
TC_017_2). With a socket the cable stays locked in: Finishing, then Unlocked.
"""

import time

import pytest

from testplans.ocpp import check_answer, expect_any_order, expect_status
from testplans.socket import pull_from_station
from testplans.states import charging, check_stop_reason

pytestmark = pytest.mark.octt(
    "TC_005_2_CS",
    "EV Side Disconnected – StopTransactionOnEVSideDisconnect=true, "
    "UnlockConnectorOnEVSideDisconnect=false",
    requires=("instrument:ev", "instrument:card"),
    config={"MinimumStatusDuration": "0", "StopTransactionOnEVSideDisconnect": "true",
            "UnlockConnectorOnEVSideDisconnect": "false"},
)


async def test_tc_005_2_cs(case, station, bench):
    fixed = bool(case.rig.hardware.get("fixed_cable", False))
    after_stop = ("Finishing", "Available") if fixed else ("Finishing",)
    session = await charging(case)
    n = session.connector

    with case.step("unplug at the EV side: StopTransaction(EVDisconnected) and "
                   f"StatusNotification({' or '.join(after_stop)})"):
        before = time.monotonic_ns()
        await bench.unplug_ev_side(n)  # a socket keeps the cable's station end in
        stop, sn = await expect_any_order(
            case, ("StopTransaction", {"transactionId": session.transaction_id}),
            ("StatusNotification", {"connectorId": n, "status": not_suspended}),
            after=before)
        check_stop_reason(case, stop, "EVDisconnected")
        status = sn.payload.get("status")
        case.check(status in after_stop,
                   f"StatusNotification(connector {n}, {' or '.join(after_stop)}) after the stop",
                   f"sent status {status} (seq {sn.seq})")

    want = "NotSupported" if fixed else "Unlocked"
    with case.step(f"UnlockConnector({n}): {want}"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, want, "UnlockConnector")

    if not fixed:
        with case.step("the cable is taken from the station: Available"):
            await pull_from_station(case, n, "UnlockConnector answered Unlocked")
            await expect_status(case, n, "Available", after=res.sent_mono_ns)


def not_suspended(status: str) -> bool:
    """The status after the stop (a SuspendedEV on the way there is passed over)."""
    return status != "SuspendedEV"

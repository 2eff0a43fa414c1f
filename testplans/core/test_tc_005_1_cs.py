"""TC_005_1_CS EV Side Disconnected – StopTransactionOnEVSideDisconnect=true,
UnlockConnectorOnEVSideDisconnect=true (docs/catalogue.md; OCTT p13). Requires a socket.

Charging; UNPLUG-EV (the cable leaves the EV, its station end stays in the socket) ->
StopTransaction(reason EVDisconnected) and StatusNotification(Finishing), either order; the
station lets the cable go (UnlockConnectorOnEVSideDisconnect=true); UNPLUG-CP (the cable
comes out of the station's socket) -> StatusNotification(Available).
"""

import time

import pytest

from testplans.ocpp import expect_any_order, expect_status
from testplans.socket import pull_from_station
from testplans.states import charging, check_stop_reason

pytestmark = pytest.mark.octt(
    "TC_005_1_CS",
    "EV Side Disconnected – StopTransactionOnEVSideDisconnect=true, "
    "UnlockConnectorOnEVSideDisconnect=true",
    requires=("socket", "instrument:ev", "instrument:card"),
    config={"StopTransactionOnEVSideDisconnect": "true",
            "UnlockConnectorOnEVSideDisconnect": "true", "MinimumStatusDuration": "0"},
)


async def test_tc_005_1_cs(case, bench):
    session = await charging(case)
    n = session.connector
    with case.step("unplug at the EV side: StopTransaction(EVDisconnected) and Finishing"):
        unplugged = await bench.unplug_ev_side(n)
        stop, sn = await expect_any_order(  # OCTT lets these two swap
            case, ("StopTransaction", {"transactionId": session.transaction_id}),
            ("StatusNotification", {"connectorId": n, "status": after_charging}),
            after=unplugged)
        check_stop_reason(case, stop, "EVDisconnected")
        status = sn.payload.get("status")
        case.check(status == "Finishing",
                   f"StatusNotification(connector {n}, Finishing) after the stop: the cable is "
                   "still in the station's socket (OCPP 1.6 ChargePointStatus Finishing: the "
                   "cable has not been removed)",
                   f"sent status {status} (seq {sn.seq})", at=sn.mono_ns)
    with case.step("unplug the cable at the station: Available"):
        before = time.monotonic_ns()
        await pull_from_station(case, n, "UnlockConnectorOnEVSideDisconnect=true: the station "
                                         "unlocks the cable once the EV side is disconnected")
        await expect_status(case, n, "Available", after=max(before, stop.mono_ns))


def after_charging(status: str) -> bool:
    """The status the stop leads to (a SuspendedEV on the way there is passed over)."""
    return status not in ("Charging", "SuspendedEV")

"""TC_005_3_CS EV Side Disconnected – StopTransactionOnEVSideDisconnect=false,
UnlockConnectorOnEVSideDisconnect=false (docs/catalogue.md; OCTT p15).
Requires StopTransactionOnEVSideDisconnect to exist and be writable.

MinimumStatusDuration=0, Stop=false, Unlock=false; Charging; UNPLUG-EV -> StatusNotification
(SuspendedEV) and no StopTransaction: the transaction stays; RemoteStopTransaction -> Accepted;
StatusNotification(Finishing) and StopTransaction (reason Remote), either order. With a fixed
cable nothing is left plugged once the EV is gone: Available is accepted instead of Finishing.
"""

import asyncio
import time

import pytest

from testplans.ocpp import check_answer, expect, expect_any_order
from testplans.states import charging, check_stop_reason

pytestmark = pytest.mark.octt(
    "TC_005_3_CS",
    "EV Side Disconnected – StopTransactionOnEVSideDisconnect=false, "
    "UnlockConnectorOnEVSideDisconnect=false",
    requires=("config_rw:StopTransactionOnEVSideDisconnect", "instrument:ev",
              "instrument:card"),
    config={"MinimumStatusDuration": "0", "StopTransactionOnEVSideDisconnect": "false",
            "UnlockConnectorOnEVSideDisconnect": "false"},
)


async def test_tc_005_3_cs(case, station, bench):
    fixed = bool(case.rig.hardware.get("fixed_cable", False))
    after_stop = ("Finishing", "Available") if fixed else ("Finishing",)
    session = await charging(case)
    n, tx = session.connector, session.transaction_id
    hold_s = float(case.setting("watch_s"))

    with case.step("unplug at the EV side: StatusNotification(SuspendedEV), no StopTransaction"):
        before = time.monotonic_ns()
        await bench.unplug_ev_side(n)  # a socket keeps the cable's station end (locked) in
        sn = await expect(case, "StatusNotification", {"connectorId": n}, after=before)
        await asyncio.sleep(hold_s)
        stops = [m for m in station.received("StopTransaction")
                 if m.mono_ns >= before and m.payload.get("transactionId") == tx]
        case.check(not stops, f"transaction {tx} kept open after the EV unplugged "
                   f"(StopTransactionOnEVSideDisconnect=false; watched {hold_s:g} s, setting "
                   "watch_s)",
                   "stopped it: StopTransaction " + ", ".join(
                       f"seq {m.seq} reason {m.payload.get('reason', 'Local')}" for m in stops))
        status = sn.payload.get("status")
        case.check(status == "SuspendedEV", f"StatusNotification(connector {n}, SuspendedEV)",
                   f"sent status {status} (seq {sn.seq})")

    with case.step(f"RemoteStopTransaction({tx}): Accepted"):
        res = await station.call("RemoteStopTransaction", {"transactionId": tx})
        check_answer(case, res, "Accepted", "RemoteStopTransaction")
    with case.step(f"StopTransaction(reason Remote) and StatusNotification"
                   f"({' or '.join(after_stop)})"):
        stop, sn = await expect_any_order(
            case, ("StopTransaction", {"transactionId": tx}),
            ("StatusNotification", {"connectorId": n}), after=res.sent_mono_ns)
        check_stop_reason(case, stop, "Remote")
        status = sn.payload.get("status")
        case.check(status in after_stop,
                   f"StatusNotification(connector {n}, {' or '.join(after_stop)}) after the stop",
                   f"sent status {status} (seq {sn.seq})")

"""TC_018_2_CS Unlock Connector – With Charging Session (Fixed cable) (docs/catalogue.md;
PW id, EV `..._with_charging_session_fixed_cable`; steps INF). Requires a fixed cable.

Charging; UnlockConnector -> NotSupported; the transaction goes on (no StopTransaction, the
connector stays Charging); then the bench ends it: RemoteStopTransaction -> Accepted,
StopTransaction (reason Remote) and StatusNotification(Finishing), either order; UNPLUG-EV ->
StatusNotification(Available).
"""

import asyncio
import time

import pytest

from testplans.ocpp import check_answer, expect_status
from testplans.states import charging, stopped

pytestmark = pytest.mark.octt(
    "TC_018_2_CS", "Unlock Connector – With Charging Session (Fixed cable)",
    requires=("fixed_cable", "instrument:ev", "instrument:card"),
)


async def test_tc_018_2_cs(case, station, bench):
    session = await charging(case)
    n, tx = session.connector, session.transaction_id
    hold_s = float(case.setting("watch_s"))

    with case.step(f"UnlockConnector({n}): NotSupported, the transaction goes on"):
        res = await station.call("UnlockConnector", {"connectorId": n})
        check_answer(case, res, "NotSupported", "UnlockConnector")
        await asyncio.sleep(hold_s)
        stops = [m for m in station.received("StopTransaction")
                 if m.mono_ns >= res.sent_mono_ns and m.payload.get("transactionId") == tx]
        case.check(not stops, f"transaction {tx} to go on after UnlockConnector (fixed cable; "
                   f"watched {hold_s:g} s, setting watch_s)",
                   "stopped it: " + ", ".join(f"StopTransaction seq {m.seq} reason "
                                              f"{m.payload.get('reason', 'Local')}"
                                              for m in stops))
        changes = [m for m in station.received("StatusNotification")
                   if m.mono_ns >= res.sent_mono_ns and m.payload.get("connectorId") == n
                   and m.payload.get("status") != "Charging"]
        case.check(not changes, f"connector {n} to stay Charging",
                   "reported " + ", ".join(f"{m.payload.get('status')} (seq {m.seq})"
                                           for m in changes))

    with case.step(f"RemoteStopTransaction({tx}): StopTransaction(Remote) and Finishing"):
        res = await station.call("RemoteStopTransaction", {"transactionId": tx})
        check_answer(case, res, "Accepted", "RemoteStopTransaction")
        await stopped(case, tx, n, "Remote", after=res.sent_mono_ns)

    with case.step("unplug the EV: Available"):
        before = time.monotonic_ns()
        await bench.unplug(n)
        await expect_status(case, n, "Available", after=before)

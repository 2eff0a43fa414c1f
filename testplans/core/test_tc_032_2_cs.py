"""TC_032_2_CS Power failure boot charging point – configured to stop transaction(s)
(docs/catalogue.md; OCTT p44). Requires no back-up power.

Charging; [power off and on] BootNotification; then, in any order: StatusNotification for
connector 0 and every connector (the others Available; the transaction's connector Finishing,
Preparing, or Charging when the station resumed the transaction); StopTransaction of the
transaction with reason PowerLoss, or, when the station resumed it, the driver presents the
start card and the transaction stops (reason Local); StatusNotification(Finishing) unless
already reported. The EV stays plugged in throughout.
"""

import pytest

from testplans.boot import boot_statuses, power_cycled
from testplans.ocpp import expect, expect_status
from testplans.states import charging, check_stop_reason, swipe

pytestmark = pytest.mark.octt(
    "TC_032_2_CS", "Power failure boot charging point-configured to stop transaction(s)",
    requires=("not:backup_power", "instrument:mains", "instrument:ev", "instrument:card"),
)

RESUMED = ("Charging", "SuspendedEV", "SuspendedEVSE")


async def test_tc_032_2_cs(case, station):
    session = await charging(case)
    n, tid = session.connector, session.transaction_id
    before, boot = await power_cycled(case, "power cycle the station (no back-up power)")

    with case.step(f"after the boot: connector {n} Finishing, Preparing or resumed, the others "
                   "Available"):
        statuses = await boot_statuses(case, boot, {n: ("Finishing", "Preparing", *RESUMED)})
    status = statuses[n].payload.get("status")
    stopped = any(m.payload.get("transactionId") == tid and m.mono_ns >= boot.mono_ns
                  for m in station.received("StopTransaction"))

    if status in RESUMED and not stopped:
        with case.step(f"the transaction resumed ({status}): the driver presents the start card"):
            swiped, _ = await swipe(case, case.setting("card"))
            stop = await expect(case, "StopTransaction", {"transactionId": tid}, after=swiped)
            check_stop_reason(case, stop, "Local", "StopTransaction reason Local (or left out) "
                              "for the driver's stop")
    else:
        with case.step(f"StopTransaction({tid}, reason PowerLoss)"):
            stop = await expect(case, "StopTransaction", {"transactionId": tid}, after=before)
            check_stop_reason(case, stop, "PowerLoss", note_left_out=True)
    if status != "Finishing":
        with case.step(f"StatusNotification(connector {n}, Finishing)"):
            await expect_status(case, n, "Finishing", after=statuses[n].mono_ns + 1)

"""TC_032_1_CS Power failure boot charging point – configured to stop transaction(s) before
going down (docs/catalogue.md; OCTT p43). Requires back-up power.

Charging; [power off] on back-up power the station sends StopTransaction(reason PowerLoss) and
StatusNotification(Finishing) (either order); [power on] BootNotification; StatusNotification
for connector 0 and every connector: the transaction's connector Finishing or Preparing, the
others Available. The EV stays plugged in throughout.
"""

import asyncio
import time

import pytest

from testplans.boot import boot_statuses, booted
from testplans.states import charging, stopped

pytestmark = pytest.mark.octt(
    "TC_032_1_CS",
    "Power failure boot charging point - configured to stop transaction(s) before going down",
    requires=("backup_power", "instrument:mains", "instrument:ev", "instrument:card"),
)


async def test_tc_032_1_cs(case, station, bench):
    session = await charging(case)
    n, tid = session.connector, session.transaction_id
    before = time.monotonic_ns()
    off = await bench.power_off()
    try:
        with case.step("power off: StopTransaction(reason PowerLoss) and StatusNotification"
                       "(Finishing) before going down"):
            stop = await stopped(case, tid, n, "PowerLoss", after=before, note_left_out=True)
            case.measure("power_loss.stop_transaction", (stop.mono_ns - off) / 1e9, unit="s",
                         evidence=[stop.seq], description="mains off (verb stamp) -> "
                         "StopTransaction(PowerLoss) received")
    finally:  # the mains come back also when the case fails: the next case needs a station
        await asyncio.sleep(max(0.0, float(case.setting("power_off_s"))
                                - (time.monotonic_ns() - off) / 1e9))
        on_before = time.monotonic_ns()
        powered = await bench.power_on()
    boot = await booted(case, on_before, powered, "power on: BootNotification")
    with case.step(f"after the boot: connector {n} Finishing or Preparing, the others "
                   "Available"):
        await boot_statuses(case, boot, {n: ("Finishing", "Preparing")})

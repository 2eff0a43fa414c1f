"""TC_032_1_CS Power failure boot charging point – configured to stop transaction(s) before
going down (catalogue §1.1; OL p43). Requires back-up power.

Charging; [power off] on back-up power the station sends StopTransaction(reason PowerLoss) and
StatusNotification(Finishing) (either order); [power on] BootNotification; StatusNotification
for connector 0 and every connector: the transaction's connector Finishing or Preparing, the
others Available. The EV stays plugged in throughout.
"""

import asyncio
import time

import pytest

from testplans.core.test_tc_015_cs import boot_statuses
from testplans.ocpp import expect, expect_any_order
from testplans.states import charging

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
            stop, _ = await expect_any_order(
                case, ("StopTransaction", {"transactionId": tid}),
                ("StatusNotification", {"connectorId": n, "status": "Finishing"}),
                after=before)
            reason = stop.payload.get("reason", "Local")  # absent means Local (OCPP 1.6 §7.47)
            case.check(reason == "PowerLoss", "StopTransaction reason PowerLoss",
                       f"sent reason {reason}{'' if 'reason' in stop.payload else ' (left out)'}"
                       f" (seq {stop.seq})")
            case.measure("power_loss.stop_transaction", (stop.mono_ns - off) / 1e9, unit="s",
                         evidence=[stop.seq], description="mains off (verb stamp) -> "
                         "StopTransaction(PowerLoss) received")
    finally:  # the mains come back also when the case fails: the next case needs a station
        await asyncio.sleep(max(0.0, float(case.setting("power_off_s"))
                                - (time.monotonic_ns() - off) / 1e9))
        on_before = time.monotonic_ns()
        powered = await bench.power_on()
    with case.step("power on: BootNotification"):
        boot = await expect(case, "BootNotification", after=on_before,
                            within=case.setting("boot_timeout_s"))
        boot_s = (boot.mono_ns - powered) / 1e9
        case.measure("boot.time_after_power_on", boot_s, evidence=[boot.seq])
        case.collect("boot.time_after_power_on", boot_s, evidence=boot.seq)
    with case.step(f"after the boot: connector {n} Finishing or Preparing, the others "
                   "Available"):
        await boot_statuses(case, boot, {n: ("Finishing", "Preparing")})

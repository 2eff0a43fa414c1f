"""TC_014_CS Soft Reset Without transaction (catalogue §1.1; TZ name, steps as TC_013, OL p24).

ChangeAvailability(connector, Inoperative) -> Accepted; StatusNotification(Unavailable);
Reset(Soft) -> Accepted; the station reboots: BootNotification; StatusNotification for
connector 0 and every connector, the connector still Unavailable (availability persists);
ChangeAvailability(Operative) -> Accepted; StatusNotification(Available).
Measures ChangeAvailability -> StatusNotification and Reset -> BootNotification.
"""

import pytest

from testplans.ocpp import check_answer, expect, expect_status, triggered

pytestmark = pytest.mark.octt("TC_014_CS", "Soft Reset Without transaction")


async def test_tc_014_cs(case, station):
    n = case.connector
    with case.step(f"ChangeAvailability(connector {n}, Inoperative): Unavailable"):
        res = await station.call("ChangeAvailability", {"connectorId": n, "type": "Inoperative"})
        check_answer(case, res, "Accepted", "ChangeAvailability")
        sn = await expect_status(case, n, "Unavailable", after=res.sent_mono_ns)
        triggered(case, "triggered.change_availability", res, sn)

    with case.step("Reset(Soft): the station reboots"):
        reset = await station.call("Reset", {"type": "Soft"})
        check_answer(case, reset, "Accepted", "Reset")
        boot = await expect(case, "BootNotification", after=reset.sent_mono_ns,
                            within=case.setting("boot_timeout_s"))
        triggered(case, "triggered.reset", reset, boot)

    with case.step(f"after the reboot: connector {n} still Unavailable, the others Available"):
        for c in range(0, case.rig.station.connectors + 1):
            await expect_status(case, c, "Unavailable" if c == n else "Available",
                                after=boot.mono_ns)

    with case.step(f"ChangeAvailability(connector {n}, Operative): Available"):
        res = await station.call("ChangeAvailability", {"connectorId": n, "type": "Operative"})
        check_answer(case, res, "Accepted", "ChangeAvailability")
        sn = await expect_status(case, n, "Available", after=res.sent_mono_ns)
        triggered(case, "triggered.change_availability", res, sn)

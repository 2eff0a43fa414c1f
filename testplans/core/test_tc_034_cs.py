"""TC_034_CS Power Failure with Unavailable Status (docs/catalogue.md; OCTT p45).

ChangeAvailability(connectorId 0, Inoperative) -> Accepted; StatusNotification(Unavailable) for
connector 0 and every connector; [power off and on] BootNotification (Accepted);
StatusNotification(Unavailable) for connector 0 and every connector: the availability survives
the power loss. Maintenance makes the station Operative again afterwards.
Measures ChangeAvailability -> StatusNotification and power on -> BootNotification.
"""

import pytest

from testplans.boot import power_cycled
from testplans.ocpp import check_answer, expect_status, triggered

pytestmark = pytest.mark.octt("TC_034_CS", "Power Failure with Unavailable Status",
                              requires=("instrument:mains",),
                              measures=("triggered.change_availability",))


async def test_tc_034_cs(case, station):
    connectors = range(0, case.rig.station.connectors + 1)
    with case.step("ChangeAvailability(0, Inoperative): every connector Unavailable"):
        res = await station.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        check_answer(case, res, "Accepted", "ChangeAvailability")
        sns = [await expect_status(case, c, "Unavailable", after=res.sent_mono_ns)
               for c in connectors]
        triggered(case, "triggered.change_availability", res, max(sns, key=lambda m: m.mono_ns))

    _, boot = await power_cycled(case)

    with case.step("after the boot: connector 0 and every connector still Unavailable"):
        for c in connectors:
            await expect_status(case, c, "Unavailable", after=boot.mono_ns)

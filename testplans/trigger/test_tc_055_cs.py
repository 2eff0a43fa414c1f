"""TC_055_CS Trigger Message – Rejected (docs/catalogue.md; TZ name, EV
test_trigger_message_rejected).

GetConfiguration(NumberOfConnectors) = N; TriggerMessage(MeterValues, connectorId N + 1) and
TriggerMessage(StatusNotification, connectorId N + 1) -> Rejected (§6.54: "Rejected: requested
notification will not be sent"; a connector the station does not have is INF the reason OCTT
uses); no MeterValues or StatusNotification for that connector follows within watch_s.
"""

import asyncio

import pytest

from testplans.ocpp import check_answer, get_config

pytestmark = pytest.mark.octt("TC_055_CS", "Trigger Message – Rejected",
                              requires=("profile:RemoteTrigger",))


async def test_tc_055_cs(case, station):
    value = (await get_config(case, "NumberOfConnectors"))["NumberOfConnectors"]
    case.check(str(value).strip().isdigit(), "NumberOfConnectors to be an integer",
               f"reported {value!r}")
    missing = int(value) + 1
    for what in ("MeterValues", "StatusNotification"):
        with case.step(f"TriggerMessage({what}, connector {missing}, beyond "
                       "NumberOfConnectors): Rejected, nothing sent for it"):
            res = await station.call("TriggerMessage", {"requestedMessage": what,
                                                        "connectorId": missing})
            check_answer(case, res, "Rejected", "TriggerMessage")
            watch = float(case.setting("watch_s"))
            with station.forbid(what, {"connectorId": missing}), \
                    case.waiting(f"no {what} for connector {missing}", watch):
                await asyncio.sleep(watch)

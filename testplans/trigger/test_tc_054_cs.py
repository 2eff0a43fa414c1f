"""TC_054_CS Trigger Message (docs/catalogue.md; OCTT p78).

TriggerMessage for every message OCPP 1.6 lets a CSMS request (§5.17, §6.53 MessageTrigger):
MeterValues and StatusNotification with the case's connectorId and without one (then one per
connector: "for all allowed connectorId values"), Heartbeat, BootNotification, and
DiagnosticsStatusNotification / FirmwareStatusNotification (status Idle: nothing in progress,
§4.4/§4.5 with the errata). Each answered Accepted (the two firmware messages may be
NotImplemented when the rig does not declare FirmwareManagement: §5.17 "not implemented"),
then the message, schema-valid, within the triggered-function timeout, measured per message
(a message the station sent anyway meanwhile counts: §5.17 lets it).
"""

import pytest

from testplans.ocpp import check_answer, get_config
from testplans.trigger_steps import request_and_receive

pytestmark = pytest.mark.octt("TC_054_CS", "Trigger Message", requires=("profile:RemoteTrigger",),
                              measures=("triggered.trigger_message",))

FIRMWARE = ("DiagnosticsStatusNotification", "FirmwareStatusNotification")
PER_CONNECTOR = ("MeterValues", "StatusNotification")


async def test_tc_054_cs(case, station):
    n = case.connector
    count = int((await get_config(case, "NumberOfConnectors"))["NumberOfConnectors"] or 0)
    firmware = "FirmwareManagement" in case.rig.pics.get("feature_profiles", ["Core"])
    samples: list[float] = []
    evidence: list[int] = []
    wanted = [("MeterValues", n), ("MeterValues", None), ("Heartbeat", None),
              ("StatusNotification", n), ("StatusNotification", None),
              ("DiagnosticsStatusNotification", None), ("FirmwareStatusNotification", None),
              ("BootNotification", None)]
    for what, connector in wanted:
        where = f", connector {connector}" if connector is not None else ""
        with case.step(f"TriggerMessage({what}{where}): Accepted, then {what}"):
            if what in FIRMWARE and not firmware:
                res = await station.call("TriggerMessage", {"requestedMessage": what})
                check_answer(case, res, ("Accepted", "NotImplemented"), "TriggerMessage")
                if res.get("status") == "NotImplemented":
                    case.passed(f"{what}: NotImplemented (FirmwareManagement not declared)")
                    continue
                await request_and_receive(case, what, None, samples, evidence, call=res)
                continue
            connectors = None  # one message
            if what in PER_CONNECTOR:
                connectors = [connector] if connector is not None else list(range(1, count + 1))
            await request_and_receive(case, what, connector, samples, evidence,
                                      connectors=connectors)
    case.measure("triggered.trigger_message", series=samples, evidence=evidence)

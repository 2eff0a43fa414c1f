"""TC_026_CS Remote Start Transaction – Rejected (docs/catalogue.md; OCTT p39).

LocalPreAuthorize=false; Charging; RemoteStartTransaction on the busy connector -> Rejected;
the running transaction goes on (no StopTransaction, no second StartTransaction).
"""

import asyncio

import pytest

from testplans.ocpp import check_answer
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_026_CS", "Remote Start Transaction – Rejected",
    requires=("instrument:ev", "instrument:card"), config={"LocalPreAuthorize": "false"},
)


async def test_tc_026_cs(case, station):
    session = await charging(case)
    n = session.connector
    watch_s = float(case.setting("watch_s"))
    with case.step(f"RemoteStartTransaction on busy connector {n}: Rejected"), \
            station.forbid("StartTransaction"), \
            station.forbid("StopTransaction", {"transactionId": session.transaction_id}):
        res = await station.call("RemoteStartTransaction",
                                 {"connectorId": n, "idTag": case.card().id_tag})
        check_answer(case, res, "Rejected", "RemoteStartTransaction")
        await asyncio.sleep(watch_s)
    case.passed(f"transaction {session.transaction_id} kept running for {watch_s:g} s (setting "
                "watch_s)")

"""TC_028_CS Remote Stop Transaction – Rejected (docs/catalogue.md; OCTT p40).

Charging; RemoteStopTransaction(an unknown transactionId) -> Rejected; the running
transaction is not stopped (no StopTransaction while watched).
"""

import asyncio

import pytest

from testplans.ocpp import check_answer
from testplans.states import charging

pytestmark = pytest.mark.octt("TC_028_CS", "Remote Stop Transaction – Rejected",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_028_cs(case, station):
    session = await charging(case)
    watch_s = float(case.setting("watch_s"))
    known = {tx.transaction_id for tx in station.session.open_transactions()}
    unknown = max(known | {session.transaction_id}) + 1000
    with case.step(f"RemoteStopTransaction({unknown}, unknown): Rejected"), \
            station.forbid("StopTransaction"):
        res = await station.call("RemoteStopTransaction", {"transactionId": unknown})
        check_answer(case, res, "Rejected", "RemoteStopTransaction")
        await asyncio.sleep(watch_s)
    case.passed(f"transaction {session.transaction_id} kept running for {watch_s:g} s (setting "
                "watch_s)")

"""TC_027_CS Remote Start Transaction – connector id shall not be 0 (docs/catalogue.md; OCTT p39).

RemoteStartTransaction(connectorId 0) -> Rejected or CALLERROR, never Accepted; no session
is prepared (no StartTransaction, no StatusNotification(Preparing)).
"""

import asyncio

import pytest

pytestmark = pytest.mark.octt("TC_027_CS", "Remote Start Transaction – connector id shall not be 0")


async def test_tc_027_cs(case, station):
    card = case.card()
    with case.step("RemoteStartTransaction(connectorId 0): Rejected or CALLERROR"), \
            station.forbid("StartTransaction"), \
            station.forbid("StatusNotification", {"status": "Preparing"}):
        res = await station.call("RemoteStartTransaction", {"connectorId": 0, "idTag": card.id_tag})
        if res.error is not None:
            case.passed(f"RemoteStartTransaction(connectorId 0) answered CALLERROR "
                        f"{res.error.code}")
        else:
            status = res.get("status")
            case.check(status == "Rejected",
                       "RemoteStartTransaction(connectorId 0) answered Rejected or CALLERROR",
                       f"answered status={status!r} (seq {res.frame_seqs[1]})")
        await asyncio.sleep(float(case.setting("watch_s")))

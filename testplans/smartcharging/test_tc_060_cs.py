"""TC_060_CS Remote Start Transaction with Charging Profile – Rejected (docs/catalogue.md; OCTT).

PLUG; RemoteStartTransaction with a chargingProfile whose purpose is not TxProfile (a
TxDefaultProfile) -> Rejected or CALLERROR PropertyConstraintViolation (OCPP 1.6 §5.11: the
purpose SHALL be TxProfile; OCTT accepts either); no transaction starts within `watch_s`.
"""

import asyncio

import pytest

from testplans.smart_charging import check_refused, installed_profiles, schedule_profile
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt(
    "TC_060_CS", "Remote Start Transaction with Charging Profile – Rejected",
    requires=("profile:SmartCharging", "instrument:ev"))


async def test_tc_060_cs(case, station):
    n, card = case.connector, case.card()
    await plugged_preparing(case, n)
    watch_s = float(case.setting("watch_s"))
    async with installed_profiles(case):
        cs = schedule_profile(1, "TxDefaultProfile", 0,
                              [(0, float(case.setting("smart_limit_a")))])
        with case.step("RemoteStartTransaction with a TxDefaultProfile: refused"), \
                station.forbid("StartTransaction"):
            res = await station.call("RemoteStartTransaction", {
                "connectorId": n, "idTag": card.id_tag, "chargingProfile": cs})
            check_refused(case, res, "RemoteStartTransaction")
            await asyncio.sleep(watch_s)
    case.passed(f"no transaction started within {watch_s:g} s (setting watch_s)")

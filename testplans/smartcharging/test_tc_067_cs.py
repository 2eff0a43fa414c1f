"""TC_067_CS Clear Charging Profile (docs/catalogue.md; OCTT).

TxDefaultProfiles of smart_limit_a (stack 0, id 1) and smart_limit_low_a (stack 1, id 2);
GetCompositeSchedule shows the stack-1 limit; ClearChargingProfile(id 2) -> Accepted; the
composite schedule shows the stack-0 limit again (the profile is really gone); a second
ClearChargingProfile(id 2) -> Unknown (OCPP 1.6 §7.9: no profile matched).
"""

import pytest

from testplans.ocpp import check_answer
from testplans.smart_charging import check_composite, installed_profiles, schedule_profile
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_067_CS", "Clear Charging Profile",
    requires=("profile:SmartCharging",),
    measures=("smart.schedule_start_offset",))


async def test_tc_067_cs(case, station):
    n = case.connector
    high, low = float(case.setting("smart_limit_a")), float(case.setting("smart_limit_low_a"))
    duration = int(case.setting("composite_duration_s"))
    await left_unplugged(case, n)
    async with installed_profiles(case) as profiles:
        with case.step(f"SetChargingProfile {high:g} A (stack 0) and {low:g} A (stack 1)"):
            await profiles.set(n, schedule_profile(1, "TxDefaultProfile", 0, [(0, high)]))
            await profiles.set(n, schedule_profile(2, "TxDefaultProfile", 1, [(0, low)]))
        with case.step(f"GetCompositeSchedule shows {low:g} A"):
            await check_composite(case, profiles, n, duration)
        with case.step("ClearChargingProfile(id 2): Accepted"):
            res = await station.call("ClearChargingProfile", {"id": 2})
            check_answer(case, res, "Accepted", "ClearChargingProfile")
            profiles.items = [p for p in profiles.items if p.profile_id != 2]
        with case.step(f"GetCompositeSchedule shows {high:g} A again"):
            await check_composite(case, profiles, n, duration)
        with case.step("ClearChargingProfile(id 2) again: Unknown"):
            res = await station.call("ClearChargingProfile", {"id": 2})
            check_answer(case, res, "Unknown", "ClearChargingProfile")
    profiles.measure(case)

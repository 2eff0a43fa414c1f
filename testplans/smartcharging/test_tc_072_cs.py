"""TC_072_CS Stacking Charging Profiles (docs/catalogue.md; OCTT).

OCTT's schedule: TxDefaultProfile stack 0 of 6/8/10 A from 0/100/200 s for 400 s, and
TxDefaultProfile stack 1 of 5 A for 150 s; GetCompositeSchedule(connector, 400 s) -> the
higher stack level prevails while it is valid (OCPP 1.6 §3.13.2): 5 A, then 8 A from 150 s,
10 A from 200 s; checked against the bench's own composite schedule.
"""

import pytest

from testplans.smart_charging import check_composite, installed_profiles, schedule_profile
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_072_CS", "Stacking Charging Profiles",
    requires=("profile:SmartCharging",),
    measures=("smart.schedule_start_offset",))


async def test_tc_072_cs(case, station):
    n = case.connector
    await left_unplugged(case, n)
    async with installed_profiles(case) as profiles:
        with case.step("SetChargingProfile(TxDefaultProfile stack 0 and stack 1): Accepted"):
            await profiles.set(n, schedule_profile(1, "TxDefaultProfile", 0,
                                                   [(0, 6), (100, 8), (200, 10)], duration=400))
            await profiles.set(n, schedule_profile(2, "TxDefaultProfile", 1, [(0, 5)],
                                                   duration=150))
        with case.step("GetCompositeSchedule: the higher stack level prevails while valid"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")))
    profiles.measure(case)

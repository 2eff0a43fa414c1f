"""TC_066_CS Get Composite Schedule (docs/catalogue.md; OCTT).

Prerequisite (OCTT): MaxChargingProfilesInstalled >= 3, ChargingScheduleMaxPeriods >= 5.
No transaction; the bench installs a ChargePointMaxProfile on connector 0 (10 A for 24 h), a
TxDefaultProfile of 5 periods (stack 0, 400 s) and a TxDefaultProfile of 7 A (stack 1,
100 s) on the connector; GetCompositeSchedule(connector, composite_duration_s, A) ->
Accepted, connectorId, duration, chargingRateUnit A, scheduleStart = request time ± max time
deviation, and the periods the bench computes from those profiles (stacking, purposes and
validity; bench/smartcharging).
"""

import pytest

from testplans.ocpp import get_config
from testplans.smart_charging import check_composite, installed_profiles, schedule_profile
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_066_CS", "Get Composite Schedule",
    requires=("profile:SmartCharging",),
    measures=("smart.schedule_start_offset",))

# the station's capabilities OCTT's schedule needs
NEEDS = {"MaxChargingProfilesInstalled": 3, "ChargingScheduleMaxPeriods": 5}


async def test_tc_066_cs(case, station):
    n = case.connector
    keys = await get_config(case, *NEEDS)
    for key, least in NEEDS.items():
        value = keys.get(key)
        case.check(str(value).isdigit() and int(value) >= least,
                   f"prerequisite {key} >= {least}", f"reports {key} = {value!r}")
    await left_unplugged(case, n)
    async with installed_profiles(case) as profiles:
        with case.step("SetChargingProfile x3 (ChargePointMax, TxDefault stack 0 and 1): "
                       "Accepted"):
            await profiles.set(0, schedule_profile(1, "ChargePointMaxProfile", 0, [(0, 10)],
                                                   duration=86400))
            await profiles.set(n, schedule_profile(
                2, "TxDefaultProfile", 0, [(0, 6), (80, 12), (160, 8), (240, 9), (320, 5)],
                duration=400))
            await profiles.set(n, schedule_profile(3, "TxDefaultProfile", 1, [(0, 7)],
                                                   duration=100))
        with case.step("GetCompositeSchedule: the bench's composite schedule"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")))
    profiles.measure(case)

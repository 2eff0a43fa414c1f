"""TC_056_CS Central Smart Charging – TxDefaultProfile (docs/catalogue.md; OCTT).

SetChargingProfile(TxDefaultProfile on the connector, smart_limit_a, then smart_limit_low_a
after schedule_period_s) -> Accepted; Charging; HIL: the output current settles under the
limit within [pics] charging_profile_reaction_s of StartTransaction; GetCompositeSchedule
shows the limits (checked against the bench's own composite schedule); at the period boundary
the output follows the lower limit. Measures the reaction times and limit errors as series.
"""

import datetime as dt

import pytest

from testplans.smart_charging import (
    check_composite,
    follows_boundary,
    follows_limit,
    installed_profiles,
    schedule_profile,
)
from testplans.states import charging, check_current_flows

pytestmark = pytest.mark.octt(
    "TC_056_CS", "Central Smart Charging – TxDefaultProfile",
    requires=("profile:SmartCharging", "instrument:ev", "instrument:card"),
    measures=("smart.reaction_time", "smart.limit_error", "smart.schedule_start_offset"))


async def test_tc_056_cs(case, station):
    n = case.connector
    high, low = float(case.setting("smart_limit_a")), float(case.setting("smart_limit_low_a"))
    period = float(case.setting("schedule_period_s"))
    async with installed_profiles(case) as profiles:
        with case.step(f"SetChargingProfile(TxDefaultProfile, {high:g} A then {low:g} A after "
                       f"{period:g} s): Accepted"):
            start = dt.datetime.now(dt.UTC)
            await profiles.set(n, schedule_profile(1, "TxDefaultProfile", 0,
                                                   [(0, high), (period, low)], start=start))
        session = await charging(case)
        profiles.in_transaction(session.transaction_id, session.start)
        with case.step(f"the output current settles under the limit on connector {n}"):
            await check_current_flows(case, n, "of StartTransaction")
            await follows_limit(case, profiles, n, since_ns=session.start.mono_ns,
                                why="StartTransaction under the TxDefaultProfile")
        with case.step("GetCompositeSchedule shows the TxDefaultProfile's limits"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")))
        with case.step(f"at {period:g} s the output follows {low:g} A"):
            await follows_boundary(case, profiles, n, start + dt.timedelta(seconds=period),
                                   why=f"the period boundary at {period:g} s")
    profiles.measure(case)

"""TC_057_CS Central Smart Charging – TxProfile (docs/catalogue.md; OCTT).

Charging; SetChargingProfile(TxProfile with the transactionId, smart_limit_a, then
smart_limit_low_a after schedule_period_s) -> Accepted; HIL: the output current settles under
the limit within [pics] charging_profile_reaction_s of the SetChargingProfile; GetCompositeSchedule
shows it (against the bench's own composite schedule); at the period boundary the output
follows the lower limit.
"""

import datetime as dt
import time

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
    "TC_057_CS", "Central Smart Charging – TxProfile",
    requires=("profile:SmartCharging", "instrument:ev", "instrument:card"),
    measures=("smart.reaction_time", "smart.limit_error", "smart.schedule_start_offset"))


async def test_tc_057_cs(case, station):
    high, low = float(case.setting("smart_limit_a")), float(case.setting("smart_limit_low_a"))
    period = float(case.setting("schedule_period_s"))
    session = await charging(case)
    n = session.connector
    with case.step(f"energy flows on connector {n}"):
        await check_current_flows(case, n, "of StatusNotification(Charging)")
    async with installed_profiles(case) as profiles:
        profiles.in_transaction(session.transaction_id, session.start)
        with case.step(f"SetChargingProfile(TxProfile, transaction {session.transaction_id}, "
                       f"{high:g} A then {low:g} A after {period:g} s): Accepted"):
            start = dt.datetime.now(dt.UTC)
            sent = time.monotonic_ns()
            res = await profiles.set(n, schedule_profile(
                1, "TxProfile", 0, [(0, high), (period, low)], start=start,
                transaction_id=session.transaction_id))
        with case.step(f"the output current settles under the limit on connector {n}"):
            await follows_limit(case, profiles, n, since_ns=res.sent_mono_ns or sent,
                                why="SetChargingProfile(TxProfile)")
        with case.step("GetCompositeSchedule shows the TxProfile"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")))
        with case.step(f"at {period:g} s the output follows {low:g} A"):
            await follows_boundary(case, profiles, n, start + dt.timedelta(seconds=period),
                                   why=f"the period boundary at {period:g} s")
    profiles.measure(case)

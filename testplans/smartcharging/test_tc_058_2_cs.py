"""TC_058_2_CS Central Smart Charging – Wrong transactionId (docs/catalogue.md; OCTT).

Charging; SetChargingProfile(TxProfile with a transactionId that is not the running one) ->
Rejected (or CALLERROR PropertyConstraintViolation); HIL: the profile is not applied, the
output stays above its limit for the `watch_s` setting (when the EV asks for more: the
check says so when it cannot show anything).
"""

import asyncio
import time

import pytest

from testplans.smart_charging import check_refused, installed_profiles, schedule_profile
from testplans.states import charging, check_current_flows, output_current

pytestmark = pytest.mark.octt(
    "TC_058_2_CS", "Central Smart Charging – Wrong transactionId",
    requires=("profile:SmartCharging", "instrument:ev", "instrument:card"))


async def test_tc_058_2_cs(case, station):
    limit = float(case.setting("smart_limit_low_a"))
    tolerance = float(case.setting("limit_tolerance_a"))
    session = await charging(case)
    n, other = session.connector, session.transaction_id + 1
    with case.step(f"energy flows on connector {n}"):
        await check_current_flows(case, n, "of StatusNotification(Charging)")
    async with installed_profiles(case):
        with case.step(f"SetChargingProfile(TxProfile, transaction {other}) while "
                       f"{session.transaction_id} runs: refused"):
            res = await station.call("SetChargingProfile", {
                "connectorId": n, "csChargingProfiles": schedule_profile(
                    1, "TxProfile", 0, [(0, limit)], transaction_id=other)})
            check_refused(case, res, "SetChargingProfile")
        ev_asks = float(case.setting("ev_current_a"))
        if ev_asks <= limit + tolerance:
            case.passed(f"the EV asks for {ev_asks:g} A, not more than the refused "
                        f"{limit:g} A: the output cannot show whether it was applied")
            return
        with case.step(f"the refused {limit:g} A limit is not applied on connector {n}"):
            watch_s = float(case.setting("watch_s"))
            end, lowest, source = time.monotonic() + watch_s, float("inf"), ""
            while time.monotonic() < end:
                current, source = await output_current(case, n)
                lowest = min(lowest, current)
                await asyncio.sleep(float(case.setting("current_poll_s")))
            case.check(lowest > limit + tolerance,
                       f"the output ({source}) above the refused profile's {limit:g} A for "
                       f"{watch_s:g} s", f"went down to {lowest:.2f} A")

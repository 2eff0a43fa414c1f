"""TC_082_CS TxDefaultProfile with ongoing transaction (docs/catalogue.md; OCTT).

Charging; SetChargingProfile(TxDefaultProfile on the connector) -> Accepted; it applies to the
running transaction (OCPP 1.6 §3.13.2: TxDefaultProfile is the default for transactions
without a TxProfile): HIL, the output settles under the limit within [pics]
charging_profile_reaction_s; GetCompositeSchedule shows it. The profile is in W when the
station allows Power (ChargingScheduleAllowedChargingRateUnit): smart_limit_a x ev_voltage_v,
judged as power on the DC output (the excess in A through the measured voltage), and the
composite asked for in W; else smart_limit_a in A.
"""

import time

import pytest

from testplans.ocpp import get_config
from testplans.smart_charging import (
    check_composite,
    follows_limit,
    installed_profiles,
    schedule_profile,
)
from testplans.states import charging, check_current_flows

pytestmark = pytest.mark.octt(
    "TC_082_CS", "TxDefaultProfile with ongoing transaction",
    requires=("profile:SmartCharging", "instrument:ev", "instrument:card"),
    measures=("smart.reaction_time", "smart.limit_error", "smart.schedule_start_offset"))

UNITS_KEY = "ChargingScheduleAllowedChargingRateUnit"


async def test_tc_082_cs(case, station):
    allowed = str((await get_config(case, UNITS_KEY))[UNITS_KEY])
    unit = "W" if "power" in allowed.lower() else "A"
    limit = float(case.setting("smart_limit_a"))
    if unit == "W":
        limit *= float(case.setting("ev_voltage_v"))
    session = await charging(case)
    n = session.connector
    with case.step(f"energy flows on connector {n}"):
        await check_current_flows(case, n, "of StatusNotification(Charging)")
    async with installed_profiles(case) as profiles:
        profiles.in_transaction(session.transaction_id, session.start)
        with case.step(f"SetChargingProfile(TxDefaultProfile, {limit:g} {unit}) during the "
                       "transaction: Accepted"):
            sent = time.monotonic_ns()
            res = await profiles.set(n, schedule_profile(1, "TxDefaultProfile", 0,
                                                         [(0, limit)], unit=unit))
        with case.step(f"the running transaction follows it on connector {n}"):
            await follows_limit(case, profiles, n, since_ns=res.sent_mono_ns or sent,
                                why="SetChargingProfile(TxDefaultProfile)", unit=unit)
        with case.step(f"GetCompositeSchedule ({unit}) shows the TxDefaultProfile"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")),
                                  unit)
    profiles.measure(case)

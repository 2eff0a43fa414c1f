"""TC_059_CS Remote Start Transaction with Charging Profile (docs/catalogue.md; OCTT).

PLUG; RemoteStartTransaction(connectorId, idTag, chargingProfile: a Relative TxProfile of
smart_limit_a, then smart_limit_low_a from schedule_period_s after the transaction's start, no
transactionId: OCPP 1.6 §5.11) -> Accepted; the transaction starts under the profile: HIL,
the output current settles under the limit within [pics] charging_profile_reaction_s of
StartTransaction; GetCompositeSchedule shows it; at the period boundary (counted from the
StartTransaction's timestamp: Relative) the output follows the lower limit.
"""

import datetime as dt

import pytest

from testplans.ocpp import check_answer
from testplans.smart_charging import (
    check_composite,
    follows_boundary,
    follows_limit,
    installed_profiles,
    schedule_profile,
)
from testplans.states import check_current_flows, plugged_preparing, started

pytestmark = pytest.mark.octt(
    "TC_059_CS", "Remote Start Transaction with Charging Profile",
    requires=("profile:SmartCharging", "instrument:ev"),
    measures=("smart.reaction_time", "smart.limit_error", "smart.schedule_start_offset"))


async def test_tc_059_cs(case, station):
    n, card = case.connector, case.card()
    high, low = float(case.setting("smart_limit_a")), float(case.setting("smart_limit_low_a"))
    period = float(case.setting("schedule_period_s"))
    await plugged_preparing(case, n)
    async with installed_profiles(case) as profiles:
        cs = schedule_profile(1, "TxProfile", 0, [(0, high), (period, low)], kind="Relative")
        with case.step(f"RemoteStartTransaction with a TxProfile of {high:g} A: Accepted"):
            res = await station.call("RemoteStartTransaction", {
                "connectorId": n, "idTag": card.id_tag, "chargingProfile": cs})
            check_answer(case, res, "Accepted", "RemoteStartTransaction")
        with case.step("transaction starts"):
            session = await started(case, n, card.id_tag, after=res.sent_mono_ns)
        profiles.note(n, cs)
        profiles.in_transaction(session.transaction_id, session.start)
        with case.step(f"the output current settles under the limit on connector {n}"):
            await check_current_flows(case, n, "of StartTransaction")
            await follows_limit(case, profiles, n, since_ns=session.start.mono_ns,
                                why="StartTransaction under the RemoteStart's TxProfile")
        with case.step("GetCompositeSchedule shows the TxProfile"):
            await check_composite(case, profiles, n, int(case.setting("composite_duration_s")))
        assert profiles.transaction_start is not None
        with case.step(f"{period:g} s into the transaction the output follows {low:g} A"):
            await follows_boundary(case, profiles, n,
                                   profiles.transaction_start + dt.timedelta(seconds=period),
                                   why=f"the period boundary {period:g} s after the start")
    profiles.measure(case)

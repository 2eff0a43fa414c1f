"""TC_058_1_CS Central Smart Charging – No ongoing transaction (docs/catalogue.md; OCTT).

No transaction on the connector; SetChargingProfile(TxProfile with a transactionId) ->
Rejected, or CALLERROR PropertyConstraintViolation (OCTT accepts either; OCPP 1.6 §5.16: a
TxProfile without an active transaction on its connector is discarded with an error status).
"""

import pytest

from testplans.smart_charging import check_refused, installed_profiles, schedule_profile
from testplans.states import left_unplugged

pytestmark = pytest.mark.octt(
    "TC_058_1_CS", "Central Smart Charging – No ongoing transaction",
    requires=("profile:SmartCharging", "instrument:ev"))

# a transactionId the bench never gave (its ids count up from 1 within a run)
NO_SUCH_TRANSACTION = 2_000_000_000


async def test_tc_058_1_cs(case, station):
    n = case.connector
    await left_unplugged(case, n)
    async with installed_profiles(case):
        with case.step(f"SetChargingProfile(TxProfile) on idle connector {n}: refused"):
            res = await station.call("SetChargingProfile", {
                "connectorId": n, "csChargingProfiles": schedule_profile(
                    1, "TxProfile", 0, [(0, float(case.setting("smart_limit_a")))],
                    transaction_id=NO_SUCH_TRANSACTION)})
            check_refused(case, res, "SetChargingProfile")

"""TC_047_CS Reservation of a Connector – Expire (docs/catalogue.md; OCTT p69).

ReserveNow(connector, valid, expiryDate = now + reservation_expire_s) -> Accepted;
StatusNotification(Reserved); nobody comes: StatusNotification(Available) at the expiryDate
(measured: reservation.expiry_error, its arrival on the bench's clock minus the expiryDate,
within max_time_deviation_s either way); then another card (valid2) charges there.
"""

import pytest

from testplans.ocpp import bench_utc_at, expect_status
from testplans.reservations import reserve_and_see_reserved
from testplans.states import charging, check_current_flows, left_unplugged

pytestmark = pytest.mark.octt(
    "TC_047_CS", "Reservation of a Connector – Expire",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev",
              "instrument:card"),
    measures=("reservation.expiry_error", "triggered.reserve_now"),
)


async def test_tc_047_cs(case):
    n, card = case.connector, case.card()
    expire_s = float(case.setting("reservation_expire_s"))
    await left_unplugged(case, n)
    r, reserved = await reserve_and_see_reserved(case, n, card, expiry_s=expire_s)
    with case.step(f"nobody comes: Available at the expiryDate ({expire_s:g} s)"):
        sn = await expect_status(case, n, "Available", after=reserved.mono_ns + 1,
                                 within=expire_s + case.timeout, trigger="the Reserved status")
        error = (bench_utc_at(sn.mono_ns) - r.expiry).total_seconds()
        case.measure("reservation.expiry_error", error, evidence=[sn.seq])
    session = await charging(case, "valid2", n)
    await check_current_flows(case, n, "of the StartTransaction")
    case.passed(f"the connector was released {error:+.2f} s from the expiryDate; another card "
                f"charged there (transaction {session.transaction_id})")

"""TC_046_2_CS Reservation of a Connector – Remote start transaction (docs/catalogue.md; OCTT
p69).

ReserveNow(connector, valid) -> Accepted; StatusNotification(Reserved);
RemoteStartTransaction(connector, valid) -> Accepted; [Authorize if
AuthorizeRemoteTxRequests=true]; StatusNotification(Preparing); PLUG -> StartTransaction with
the idTag and reservationId of the reservation and StatusNotification(Charging); energy flows.
"""

import time

import pytest

from testplans.ocpp import check_answer, expect_status
from testplans.reservations import reserve_and_see_reserved, started_on_reservation
from testplans.states import check_current_flows, left_unplugged, plug_in

pytestmark = pytest.mark.octt(
    "TC_046_2_CS", "Reservation of a Connector – Remote start transaction",
    requires=("profile:Reservation", "not:rejects_reservations", "instrument:ev"),
    measures=("triggered.reserve_now",),
)


async def test_tc_046_2_cs(case, station):
    n, card = case.connector, case.card()
    await left_unplugged(case, n)
    r, reserved = await reserve_and_see_reserved(case, n, card)
    with case.step(f"RemoteStartTransaction(connector {n}, {card.id_tag}): Preparing"):
        res = await station.call("RemoteStartTransaction",
                                 {"connectorId": n, "idTag": card.id_tag})
        check_answer(case, res, "Accepted", "RemoteStartTransaction")
        sn = await expect_status(case, n, "Preparing", after=max(res.sent_mono_ns,
                                                                 reserved.mono_ns + 1))
    with case.step(f"plug the EV into connector {n}: the reservation is used"):
        plugged = time.monotonic_ns()
        await plug_in(case, n)
        session = await started_on_reservation(case, n, card.id_tag, r,
                                               after=max(plugged, sn.mono_ns))
    await check_current_flows(case, n, "of the StartTransaction")
    case.passed(f"transaction {session.transaction_id} started remotely on reservation "
                f"{r.reservation_id}")

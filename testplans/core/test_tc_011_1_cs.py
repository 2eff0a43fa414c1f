"""TC_011_1_CS Remote Start Charging Session – Remote Start First (docs/catalogue.md; OCTT p20).

GetConfiguration(AuthorizeRemoteTxRequests); RemoteStartTransaction(connectorId, idTag) ->
Accepted; [Authorize when AuthorizeRemoteTxRequests=true; with false one is accepted, not
required (OCPP 1.6 §5.11)]; StatusNotification(Preparing);
PLUG -> StartTransaction and StatusNotification(Charging), either order.
Measures the RemoteStartTransaction response time (PICS "Response time
RemoteStartTransaction") and plug-in -> StartTransaction.
"""

import time

import pytest

from testplans.ocpp import check_answer, expect, expect_status, get_config, is_true
from testplans.states import note_unrequired_authorize, plug_in, started

pytestmark = pytest.mark.octt(
    "TC_011_1_CS", "Remote Start Charging Session – Remote Start First",
    requires=("instrument:ev",),
    measures=("remote_start.response_time", "triggered.plug_to_start"))


async def test_tc_011_1_cs(case, station):
    n, card = case.connector, case.card()
    authorize_remote = is_true((await get_config(case, "AuthorizeRemoteTxRequests"))
                               ["AuthorizeRemoteTxRequests"])
    with case.step(f"RemoteStartTransaction(connector {n}, {card.id_tag}) before "
                   "plugging in"), \
            station.forbid("StartTransaction"):
        res = await station.call("RemoteStartTransaction", {"connectorId": n,
                                                            "idTag": card.id_tag})
        check_answer(case, res, "Accepted", "RemoteStartTransaction")
        case.measure("remote_start.response_time", res.response_time_s,
                     evidence=list(res.frame_seqs))
        auth = None
        if authorize_remote:
            auth = await expect(case, "Authorize", {"idTag": card.id_tag},
                                after=res.sent_mono_ns)
        await expect_status(case, n, "Preparing", after=res.sent_mono_ns)

    with case.step(f"plug the EV into connector {n}: the transaction starts"):
        before = time.monotonic_ns()
        plugged = await plug_in(case, n)
        session = await started(case, n, card.id_tag, after=before)
    if not authorize_remote:
        note_unrequired_authorize(case, card.id_tag, res.sent_mono_ns)
    if auth is not None:
        case.check(auth.mono_ns < session.start.mono_ns, "Authorize before StartTransaction",
                   f"sent StartTransaction (seq {session.start.seq}) before Authorize "
                   f"(seq {auth.seq})")
    case.measure("triggered.plug_to_start", (session.start.mono_ns - plugged) / 1e9,
                 evidence=[session.start.seq])

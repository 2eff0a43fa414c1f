"""TC_010_CS Remote Start Charging Session – Cable Plugged in First (docs/catalogue.md; OCTT p19).

GetConfiguration(AuthorizeRemoteTxRequests); PLUG -> StatusNotification(Preparing);
RemoteStartTransaction(connectorId, idTag) -> Accepted; [Authorize, before StartTransaction,
when AuthorizeRemoteTxRequests=true; with false one is not required and is accepted when it
comes (OCPP 1.6 §5.11 forbids none)]; StartTransaction and
StatusNotification(Charging), either order; the energy flows: the output current (reference
meter on the connector, else the EV emulator) rises above the `current_threshold_a` setting.
Measures the RemoteStartTransaction response time (CALL -> CALLRESULT, PICS "Response time
RemoteStartTransaction"), RemoteStartTransaction -> StartTransaction (triggered function) and
RemoteStartTransaction -> current on (docs/checks.md, HIL: t(P_dc > threshold) - t(RemoteStart)).
"""

import time

import pytest

from testplans.ocpp import check_answer, expect, get_config, is_true
from testplans.states import (
    describe_current,
    note_unrequired_authorize,
    plugged_preparing,
    started,
    watching_current,
)

pytestmark = pytest.mark.octt(
    "TC_010_CS", "Remote Start Charging Session – Cable Plugged in First",
    requires=("instrument:ev",),
    measures=("remote_start.response_time", "triggered.remote_start",
              "triggered.remote_start_power_on"))


async def test_tc_010_cs(case, station):
    n, card = case.connector, case.card()
    authorize_remote = is_true((await get_config(case, "AuthorizeRemoteTxRequests"))
                               ["AuthorizeRemoteTxRequests"])
    await plugged_preparing(case, n)

    # the watch starts before the CALL: the energy may flow before the messages arrive
    async with watching_current(case, n, True) as power_on:
        with case.step("RemoteStartTransaction: Accepted"):
            sent = time.monotonic_ns()
            res = await station.call("RemoteStartTransaction", {"connectorId": n,
                                                                "idTag": card.id_tag})
            check_answer(case, res, "Accepted", "RemoteStartTransaction")
            case.measure("remote_start.response_time", res.response_time_s,
                         evidence=list(res.frame_seqs))
            sent = res.sent_mono_ns or sent

        if authorize_remote:
            with case.step("Authorize (AuthorizeRemoteTxRequests=true), before StartTransaction"):
                auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=sent)
            with case.step("transaction starts"):
                session = await started(case, n, card.id_tag, after=sent)
            case.check(auth.mono_ns < session.start.mono_ns, "Authorize before StartTransaction",
                       f"sent StartTransaction (seq {session.start.seq}) before Authorize "
                       f"(seq {auth.seq})")
        else:
            with case.step("transaction starts (AuthorizeRemoteTxRequests=false)"):
                session = await started(case, n, card.id_tag, after=sent)
            note_unrequired_authorize(case, card.id_tag, sent)
        case.measure("triggered.remote_start", (session.start.mono_ns - sent) / 1e9,
                     evidence=[res.frame_seqs[0], session.start.seq])
        with case.step(f"the energy flows on connector {n}"):
            edge = await power_on.edge(case.timeout)
            case.check(edge.stamp_ns is not None,
                       f"{describe_current(case, True)} on connector {n} ({edge.source}) "
                       f"within {case.timeout:g} s of StartTransaction",
                       f"delivered {edge.current_a:.2f} A for {edge.watched_s:.1f} s after "
                       "RemoteStartTransaction")
            case.check(edge.stamp_ns >= sent, "no energy before RemoteStartTransaction",
                       f"delivered {edge.current_a:.2f} A {(sent - edge.stamp_ns) / 1e9:.3f} s "
                       "before the CALL was sent")
    case.measure("triggered.remote_start_power_on", (edge.stamp_ns - sent) / 1e9,
                 evidence=[res.frame_seqs[0], session.start.seq])

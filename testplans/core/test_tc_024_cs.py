"""TC_024_CS Start Charging Session – Lock Failure (docs/catalogue.md; OCTT p37). Requires a socket.

GetConfiguration(AuthorizeRemoteTxRequests); RemoteStartTransaction -> Accepted; [Authorize
only if AuthorizeRemoteTxRequests=true]; StatusNotification(Preparing); HALF-PLUG (the plug
goes in so that the lock cannot engage) -> StatusNotification(Faulted, errorCode
ConnectorLockFailure); no StartTransaction at any time.

The half-plug is `bench.half_plug` (a socket rig's actuator at the cable's station end); a
rig without one cannot run the case (ERROR, not FAIL).
"""

import time

import pytest

from testplans.ocpp import check_answer, expect, expect_status, get_config, is_true

pytestmark = pytest.mark.octt(
    "TC_024_CS", "Start Charging Session – Lock Failure",
    requires=("socket", "instrument:ev"),
    config={"ConnectionTimeOut": "{connection_timeout_s}"},
)


async def test_tc_024_cs(case, station, bench):
    n, card = case.connector, case.card()
    authorize_remote = is_true((await get_config(case, "AuthorizeRemoteTxRequests"))
                               ["AuthorizeRemoteTxRequests"])
    with station.forbid("StartTransaction"):
        with case.step(f"RemoteStartTransaction(connector {n}): Accepted, Preparing"):
            res = await station.call("RemoteStartTransaction", {"connectorId": n,
                                                                "idTag": card.id_tag})
            check_answer(case, res, "Accepted", "RemoteStartTransaction")
            if authorize_remote:
                await expect(case, "Authorize", {"idTag": card.id_tag}, after=res.sent_mono_ns)
            await expect_status(case, n, "Preparing", after=res.sent_mono_ns)
        with case.step("half-plug: Faulted with ConnectorLockFailure"):
            before = time.monotonic_ns()
            await bench.half_plug(n)
            sn = await expect_status(case, n, "Faulted", after=before)
            code = sn.payload.get("errorCode")
            case.check(code == "ConnectorLockFailure", "errorCode ConnectorLockFailure",
                       f"sent errorCode {code} (seq {sn.seq})")

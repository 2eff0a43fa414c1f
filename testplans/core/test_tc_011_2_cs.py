"""TC_011_2_CS Remote Start Charging Session – Time Out (docs/catalogue.md; OCTT p21).

ConnectionTimeOut=T; GetConfiguration(AuthorizeRemoteTxRequests); RemoteStartTransaction ->
Accepted; [Authorize when AuthorizeRemoteTxRequests=true; with false one is accepted, not
required (OCPP 1.6 §5.11)]; StatusNotification(Preparing);
no plug: after T StatusNotification(Available), never a StartTransaction.
Preparing -> Available is measured against T with both bounds (not early, not late).
"""

import pytest

from testplans.ocpp import check_answer, expect, expect_status, get_config, is_true
from testplans.states import left_unplugged, note_unrequired_authorize

pytestmark = pytest.mark.octt(
    "TC_011_2_CS", "Remote Start Charging Session – Time Out",
    config={"ConnectionTimeOut": "{connection_timeout_s}"},
    measures=("connection_timeout.remote_start",),
)


async def test_tc_011_2_cs(case, station):
    n, card = case.connector, case.card()
    timeout_s = float(case.setting("connection_timeout_s"))
    await left_unplugged(case, n)
    authorize_remote = is_true((await get_config(case, "AuthorizeRemoteTxRequests"))
                               ["AuthorizeRemoteTxRequests"])
    with station.forbid("StartTransaction"):
        with case.step(f"RemoteStartTransaction(connector {n}, {card.id_tag}); no EV plugged"):
            res = await station.call("RemoteStartTransaction", {"connectorId": n,
                                                                "idTag": card.id_tag})
            check_answer(case, res, "Accepted", "RemoteStartTransaction")
            if authorize_remote:
                await expect(case, "Authorize", {"idTag": card.id_tag}, after=res.sent_mono_ns)
            preparing = await expect_status(case, n, "Preparing", after=res.sent_mono_ns)

        with case.step(f"ConnectionTimeOut {timeout_s:g} s: back to Available, no transaction"):
            within = timeout_s + float(case.setting("max_time_deviation_s")) + case.timeout
            try:
                available = await expect_status(case, n, "Available",
                                                after=preparing.mono_ns + 1, within=within)
            except TimeoutError:
                case.check(False, f"StatusNotification(connector {n}, Available) "
                           f"ConnectionTimeOut {timeout_s:g} s after Preparing",
                           f"sent none within {within:g} s: it stayed Preparing")
    if not authorize_remote:
        note_unrequired_authorize(case, card.id_tag, res.sent_mono_ns)
    case.measure("connection_timeout.remote_start",
                 (available.mono_ns - preparing.mono_ns) / 1e9,
                 evidence=[preparing.seq, available.seq])

"""TC_004_2_CS Regular Charging Session – Identification First – ConnectionTimeOut
(docs/catalogue.md; OCTT p10).

ConnectionTimeOut = T; card -> Authorize (Accepted) -> StatusNotification(Preparing); no plug;
T s later StatusNotification(Available); no StartTransaction at any time. The time from
Preparing to Available (OCPP 1.6 §9.1.8: the timeout runs from the start of Preparing) is a
measurement with both bounds: not before T - tolerance, not after T + tolerance.
"""

import pytest

from bench.csms.errors import ExpectTimeout
from testplans.ocpp import expect, expect_status
from testplans.states import left_unplugged, swipe

pytestmark = pytest.mark.octt(
    "TC_004_2_CS", "Regular Charging Session – Identification First – ConnectionTimeOut",
    requires=("instrument:card",),
    config={"ConnectionTimeOut": "{connection_timeout_s}"},
    measures=("connection_timeout.after_identification",),
)


async def test_tc_004_2_cs(case, station):
    n, card = case.connector, case.card()
    timeout_s = float(case.setting("connection_timeout_s"))
    await left_unplugged(case, n)
    with station.forbid("StartTransaction"):
        with case.step(f"present card {card.tag} ({card.id_tag}), no EV plugged: Preparing"):
            before, _ = await swipe(case, card.tag)
            auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
            preparing = await expect_status(case, n, "Preparing", after=auth.mono_ns)

        with case.step(f"no plug: StatusNotification(Available) after ConnectionTimeOut "
                       f"({timeout_s:g} s)"):
            waited = timeout_s + case.timeout
            try:
                sn = await expect(case, "StatusNotification", {"connectorId": n},
                                  after=preparing.mono_ns + 1, within=waited)
            except ExpectTimeout:
                case.check(False, f"StatusNotification(connector {n}, Available) "
                           f"ConnectionTimeOut ({timeout_s:g} s) after Preparing",
                           f"sent no StatusNotification for connector {n} within {waited:g} s: "
                           f"it stayed Preparing (seq {preparing.seq}) after ConnectionTimeOut")
            got = sn.payload.get("status")
            case.check(got == "Available",
                       f"StatusNotification(connector {n}, Available) after ConnectionTimeOut",
                       f"sent status {got} (seq {sn.seq}) instead")
    elapsed = (sn.mono_ns - preparing.mono_ns) / 1e9
    case.measure("connection_timeout.after_identification", elapsed,
                 evidence=[preparing.seq, sn.seq])
    case.check(abs(elapsed - timeout_s) <= float(case.setting("max_time_deviation_s")),
               f"Available {timeout_s:g} s (ConnectionTimeOut) after Preparing, within "
               f"±{case.setting('max_time_deviation_s')} s",
               f"reported Available {elapsed:.2f} s after Preparing "
               f"({'too early' if elapsed < timeout_s else 'too late'})")

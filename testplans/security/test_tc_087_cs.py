"""TC_087_CS TLS - client-side certificate - valid certificate (docs/catalogue.md).

At profile 3: the bench cuts the connection; every TLS handshake of the station's
reconnection must present a client certificate that chains to the CA the bench trusts (the
endpoint's TLS layer requires it: [csms] tls_ca, and the bench's station CA once TC_074 signed
one), and the accepted handshake's certificate CN must be the charge point identity. A TLS
handshake the endpoint refused since the cut is the station's (an inference: on the rig the
station is the endpoint's only client).
"""

import time

import pytest

from testplans.security_steps import attempts_text, forced_reconnection

pytestmark = pytest.mark.octt("TC_087_CS", "TLS - client-side certificate - Valid certificate",
                              requires=("profile:Security", "security_profile:3"))


async def test_tc_087_cs(case, station, bench_ctx):
    cut = time.monotonic_ns()
    with case.step("the connection cut: the station reconnects"):
        seen = await forced_reconnection(case, "the station back after the cut")
    with case.step("every TLS handshake with a client certificate the bench trusts, "
                   "CN = identity"):
        refused = [r for r in bench_ctx.csms.tls_refusals if r.mono_ns >= cut]
        case.check(not refused, "every TLS handshake of the reconnection with a client "
                                "certificate that chains to the CA the bench trusts",
                   f"had {len(refused)} TLS handshake(s) refused by the endpoint since the cut: "
                   + "; ".join(f"{r.reason} (peer {r.peer})" for r in refused[:3]),
                   at=refused[0].mono_ns if refused else None)
        for i, h in enumerate(seen, 1):
            case.check(h.tls and h.client_cn == station.id,
                       f"attempt {i}: a client certificate with CN = the charge point identity "
                       f"{station.id!r}",
                       f"presented CN {h.client_cn!r}" + ("" if h.tls else " without TLS")
                       + f" ({attempts_text(seen)})", at=h.mono_ns)

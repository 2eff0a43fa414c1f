"""TC_086_CS TLS - server-side certificate - valid certificate (docs/catalogue.md).

At profile 2 or 3: the bench cuts the connection and the station comes back over TLS, having
accepted the bench's server certificate. Then the useful negative: the bench presents a
server certificate for the same addresses that does not chain to any Central System root
(self-signed, bench/pki.py untrusted_server_files) and cuts again; for
`untrusted_certificate_window_s` no TLS connection may get through (each attempt must end in
the TLS handshake), and the station comes back once the right certificate is shown again.
That the station verified the right certificate is an inference from both halves: it took the
one that chains to its root and refused the one that does not.
"""

import asyncio
import time

import pytest

from testplans.security_steps import attempts_text, forced_reconnection, wait_new_connection

pytestmark = pytest.mark.octt("TC_086_CS", "TLS - server-side certificate - Valid certificate",
                              requires=("profile:Security", "security_profile:2,3"))


async def test_tc_086_cs(case, station, pki, bench_ctx):
    csms = bench_ctx.csms
    with case.step("the connection cut: the station back over TLS with the bench's certificate"):
        seen = await forced_reconnection(case, "the station back over TLS after the cut")
        case.check(seen[-1].tls, "the station back over TLS (wss://)",
                   f"came back without TLS ({attempts_text(seen)})", at=seen[-1].mono_ns)
    window = float(case.setting("untrusted_certificate_window_s"))
    cert, key = pki.untrusted_server_files()
    before = csms.use_server_certificate(cert, key)
    try:
        with case.step("a server certificate that does not chain to the station's Central "
                       "System root: refused"):
            generation = station.generation
            cut = time.monotonic_ns()
            await station.disconnect()
            deadline = time.monotonic() + window
            with case.waiting("no TLS connection with the untrusted certificate", window):
                while time.monotonic() < deadline:
                    got_in = [h for h in station.handshakes if h.mono_ns >= cut and h.accepted]
                    case.check(not got_in and station.generation == generation,
                               "the station to refuse a server certificate that does not chain "
                               "to its CentralSystemRootCertificate",
                               "connected over TLS while the bench showed a self-signed "
                               "certificate of organisation 'Not The Bench'",
                               at=got_in[0].mono_ns if got_in else None)
                    await asyncio.sleep(0.05)
            tried = [r for r in csms.tls_refusals if r.mono_ns >= cut]
            case.check(bool(tried), f"the station to try TLS within {window:g} s (and fail it)",
                       "no TLS handshake reached the bench: the refusal is not shown")
    finally:
        csms.use_server_certificate(*before)
    with case.step("the bench's certificate again: the station back over TLS"):
        within = case.setting("security_reconnect_s") + 2 * window
        await wait_new_connection(case, generation, within,
                                  "the station back once the right certificate is shown")

"""TC_083_CS Upgrade security profile (docs/catalogue.md; OCTT p106).

From profile 1: the bench's Central System root installed (the station must be able to
verify the CSMS), ChangeConfiguration(SecurityProfile = 2) -> Accepted, Reset(Hard) -> the
station reboots and comes back over TLS (wss://, the CSMS certificate of the bench's PKI) with
HTTP Basic; the endpoint from then on refuses this station on a plain connection. Then the
fall-back check: the bench cuts the connection and refuses reconnects for
`security_fallback_window_s`; no plain (profile 1) attempt may come, the station comes back
over TLS once the window ends.
The station stays at profile 2 for the rest of the run (the whitepaper has no way down).
"""

import asyncio
import time

import pytest

from testplans.ocpp import check_answer, get_config
from testplans.reset import reset_reboots
from testplans.security_steps import CENTRAL_SYSTEM_ROOT, ensure_root

pytestmark = pytest.mark.octt("TC_083_CS", "Upgrade security profile",
                              requires=("profile:Security", "security_profile:1"),
                              measures=("triggered.reset", "security.profile_upgrade"))


def check_no_plain_attempt(case, station, since_ns: int, what: str) -> None:
    plain = [h for h in station.handshakes if h.mono_ns >= since_ns and not h.tls]
    case.check(not plain, f"no plain (profile 1) connection attempt {what}",
               f"tried {len(plain)} time(s) without TLS (first: HTTP {plain[0].status} "
               f"{plain[0].reason})" if plain else "")


async def test_tc_083_cs(case, station, pki, bench_ctx):
    current = int((await get_config(case, "SecurityProfile"))["SecurityProfile"] or 0)
    case.check(current == 1, "the station at security profile 1 (the upgrade 1 -> 2)",
               f"reads SecurityProfile {current}")
    with case.step("pre-state: the bench's Central System root installed, TLS served"):
        await ensure_root(case, pki, CENTRAL_SYSTEM_ROOT)
        bench_ctx.csms.serve_tls_too(pki.public_dir / "csms_server.pem",
                                     pki.private_dir / "csms_server.key")
    with case.step("ChangeConfiguration(SecurityProfile = 2): Accepted"):
        res = await station.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})
        check_answer(case, res, "Accepted", "ChangeConfiguration(SecurityProfile 1 -> 2)")
        station.raise_security_profile(2)  # plain connections of this station refused now
    generation = station.generation
    reset, boot = await reset_reboots(case, "Hard", "Reset(Hard): the station comes back at "
                                                    "profile 2")
    with case.step("the connection after the reboot is TLS"):
        last = [h for h in station.handshakes if h.accepted and h.mono_ns >= reset.sent_mono_ns]
        case.check(bool(last) and last[-1].tls and station.generation > generation,
                   "the station back over TLS (wss://) after the Reset",
                   "came back without TLS" if last else "did not come back")
        case.measure("security.profile_upgrade", (boot.mono_ns - reset.sent_mono_ns) / 1e9,
                     evidence=[reset.frame_seqs[0], boot.seq])
        check_no_plain_attempt(case, station, reset.sent_mono_ns, "after the Reset")
    with case.step("no fall back: connection cut, reconnects refused for a while"):
        window = float(case.setting("security_fallback_window_s"))
        cut = time.monotonic_ns()
        generation = station.generation
        await station.disconnect(refuse_for=window)
        within = window + case.setting("boot_timeout_s")
        deadline = time.monotonic() + within
        with case.waiting("the station back over TLS after the cut", within):
            while not (station.connected and station.generation > generation):
                check_no_plain_attempt(case, station, cut, "after the cut")  # fails at once
                case.check(time.monotonic() < deadline,
                           f"the station back over TLS within {within:g} s of the cut",
                           f"did not come back; last handshakes: {list(station.handshakes)[-3:]}")
                await asyncio.sleep(0.05)
        check_no_plain_attempt(case, station, cut, "after the cut")

"""TC_085_CS Basic Authentication - valid username/password combination (docs/catalogue.md).

The bench cuts the connection; every attempt of the station's reconnection must carry HTTP
Basic credentials (RFC 7617) whose user name is the charge point identity, the last segment
of the URL's path, and whose password is the AuthorizationKey: 16 to 20 bytes, or the key's
hex text of 32 to 40 characters where a station sends it so (the whitepaper's two readings).
That the password is the right one the endpoint decides (the attempt accepted).
"""

import pytest

from testplans.security_steps import attempts_text, forced_reconnection

pytestmark = pytest.mark.octt("TC_085_CS", "Basic Authentication - Valid username/password "
                              "combination", requires=("profile:Security", "security_profile:1,2"))


def password_length_ok(n: int, hex_text: bool) -> bool:
    return 16 <= n <= 20 or (hex_text and 32 <= n <= 40)


async def test_tc_085_cs(case, station):
    with case.step("the connection cut: the station reconnects"):
        seen = await forced_reconnection(case, "the station back after the cut")
    with case.step("every attempt: HTTP Basic <ChargePointId>:<password>"):
        for i, h in enumerate(seen, 1):
            basic = h.basic
            case.check(basic is not None, f"attempt {i}: an Authorization header (HTTP Basic)",
                       f"sent none ({attempts_text(seen)})", at=h.mono_ns)
            case.check(basic.scheme.lower() == "basic", f"attempt {i}: the Basic scheme",
                       f"sent scheme {basic.scheme!r}", at=h.mono_ns)
            case.check(basic.user_is_identity,
                       f"attempt {i}: the Basic user name to be the charge point identity "
                       f"{station.id!r} (the URL's last path segment)",
                       f"sent user name {basic.user or '«holds the key»'!r} "
                       f"({attempts_text(seen)})", at=h.mono_ns)
            case.check(password_length_ok(basic.password_bytes, basic.password_hex),
                       f"attempt {i}: a password of 16 to 20 bytes (or 32 to 40 hex characters)",
                       f"sent {basic.password_bytes} bytes"
                       + (" of hex text" if basic.password_hex else ""), at=h.mono_ns)
        case.check(seen[-1].accepted, "the endpoint accepted the password",
                   attempts_text(seen))

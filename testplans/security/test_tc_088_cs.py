"""TC_088_CS WebSocket subprotocol negotiation (docs/catalogue.md; OCPP-J 1.6 §3.1.2).

The bench cuts the connection; every attempt of the station's reconnection must offer
`ocpp1.6` in Sec-WebSocket-Protocol, and the accepted handshake must have selected it.
"""

import pytest

from testplans.security_steps import attempts_text, forced_reconnection

pytestmark = pytest.mark.octt("TC_088_CS", "WebSocket subprotocol negotiation",
                              requires=("profile:Security",))

SUBPROTOCOL = "ocpp1.6"


async def test_tc_088_cs(case, station):
    with case.step("the connection cut: the station reconnects"):
        seen = await forced_reconnection(case, "the station back after the cut")
    with case.step(f"every attempt offers {SUBPROTOCOL}; the handshake selects it"):
        for i, h in enumerate(seen, 1):
            case.check(SUBPROTOCOL in h.offered,
                       f"attempt {i}: Sec-WebSocket-Protocol offering {SUBPROTOCOL}",
                       f"offered {list(h.offered) or 'no subprotocol'} ({attempts_text(seen)})",
                       at=h.mono_ns)
        case.check(seen[-1].selected == SUBPROTOCOL,
                   f"the accepted handshake to select {SUBPROTOCOL}",
                   f"selected {seen[-1].selected!r}", at=seen[-1].mono_ns)

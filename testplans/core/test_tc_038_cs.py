"""TC_038_CS Offline Stop Transaction (docs/catalogue.md; OCTT p50). Requires a local stop.

Charging; NET−; the driver stops locally (the start card again): current stops; NET+ ->
StopTransaction (reason Local or absent, timestamp in the offline window) and
StatusNotification(Finishing), either order.
"""

import pytest

from testplans.offline import check_in_offline_window, cut_network, reconnected
from testplans.states import charging, check_current, stopped, swipe

pytestmark = pytest.mark.octt(
    "TC_038_CS", "Offline Stop Transaction",
    requires=("local_stop", "instrument:ev", "instrument:card", "instrument:network"),
)


async def test_tc_038_cs(case):
    session = await charging(case)
    n, tag = session.connector, case.card().tag
    cut = await cut_network(case)
    with case.step(f"offline: present card {tag} again: the transaction stops"):
        await swipe(case, tag)
        await check_current(case, n, False, "of the card",
                            "the transaction stopped locally while offline")
    back_online = await reconnected(case, "offline stop")

    with case.step("queued StopTransaction and StatusNotification(Finishing)"):
        stop = await stopped(case, session.transaction_id, n, "Local", after=cut,
                             expected="StopTransaction reason Local (or absent)")
    check_in_offline_window(case, stop, "StopTransaction", back_online)

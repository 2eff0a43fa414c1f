"""TC_004_1_CS Regular Charging Session – Identification First (docs/catalogue.md; OCTT p9).

MeterValueSampleInterval set; Authorized: card -> Authorize (Accepted) -> StatusNotification
(Preparing) with no EV plugged; PLUG -> StartTransaction (connectorId, idTag, meterStart,
timestamp) and StatusNotification(Charging), either order, both after the plug.
"""

import time

import pytest

from testplans.ocpp import clock_offset_s, expect, expect_status
from testplans.states import plug_in, started, swipe

pytestmark = pytest.mark.octt(
    "TC_004_1_CS", "Regular Charging Session – Identification First",
    requires=("instrument:ev", "instrument:card"),
    config={"MeterValueSampleInterval": "{meter_value_sample_interval_s}"},
)


async def test_tc_004_1_cs(case, station):
    n, card = case.connector, case.card()
    with case.step(f"present card {card.tag} ({card.id_tag}) with no EV plugged"), \
            station.forbid("StartTransaction"):  # nothing may start before the plug
        before, _ = await swipe(case, card.tag)
        auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
        await expect_status(case, n, "Preparing", after=auth.mono_ns)

    with case.step(f"plug the EV into connector {n}: the transaction starts"):
        plugged = time.monotonic_ns()
        await plug_in(case, n)
        session = await started(case, n, card.id_tag, after=plugged)
    clock_offset_s(case, session.start)
    case.passed(f"transaction {session.transaction_id} charging on connector {n}")

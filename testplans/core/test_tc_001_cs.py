"""TC_001_CS Cold Boot Charge Point (docs/catalogue.md; OCTT p7).

PWR -> BootNotification; the CSMS answers Rejected(interval i); the station sends nothing else
and boots again, not before i; Accepted(interval = configured heartbeat);
StatusNotification(Available) for connector 0 and every connector; Heartbeat every interval.
"""

import pytest

from testplans.boot import answer_boots, available_then_heartbeats, power_cycled
from testplans.ocpp import expect

pytestmark = pytest.mark.octt(
    "TC_001_CS", "Cold Boot Charge Point", requires=("instrument:mains",),
    boot_case=True,
)


async def test_tc_001_cs(case, station):
    retry_s = int(case.setting("boot_retry_interval_s"))
    await answer_boots(case, "Rejected")  # the first boot is rejected, every later one accepted

    _, first = await power_cycled(
        case, boot_step="BootNotification after power-on, answered Rejected")
    with case.step(f"nothing else, then BootNotification again after {retry_s} s: Accepted"), \
            station.forbid("StatusNotification"), station.forbid("Heartbeat"):
        second = await expect(case, "BootNotification", after=first.mono_ns + 1,
                              within=retry_s + case.timeout)
    case.measure("boot.retry_after_rejected", (second.mono_ns - first.mono_ns) / 1e9,
                 evidence=[first.seq, second.seq])

    await available_then_heartbeats(case, second)

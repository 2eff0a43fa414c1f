"""TC_002_CS Cold Boot Charge Point – Pending (docs/catalogue.md; OCTT p7).

PWR -> BootNotification; the CSMS answers Pending(interval i); while pending the station sends
no request of its own (OCPP 1.6 §4.2) but answers the CSMS: GetConfiguration -> CALLRESULT,
ChangeConfiguration(MeterValueSampleInterval) -> Accepted; BootNotification again, not before
i; Accepted(interval = configured heartbeat); StatusNotification(Available) for connector 0 and
every connector; Heartbeat every interval.
"""

import contextlib

import pytest

from testplans.boot import answer_boots, available_then_heartbeats, power_cycled
from testplans.ocpp import check_answer, check_answer_ok, expect

pytestmark = pytest.mark.octt(
    "TC_002_CS", "Cold Boot Charge Point – Pending", requires=("instrument:mains",),
    boot_case=True,
)

KEY = "MeterValueSampleInterval"
# requests a pending station must not send (it only answers and boots again)
NOT_WHILE_PENDING = ("StatusNotification", "Heartbeat", "MeterValues", "Authorize",
                     "StartTransaction", "StopTransaction", "DataTransfer")


async def test_tc_002_cs(case, station):
    retry_s = int(case.setting("boot_retry_interval_s"))
    value = str(int(float(case.setting("meter_value_sample_interval_s"))))
    await answer_boots(case, "Pending")  # the first boot is pending, every later one accepted

    _, first = await power_cycled(
        case, boot_step="BootNotification after power-on, answered Pending")

    with contextlib.ExitStack() as pending:
        for action in NOT_WHILE_PENDING:
            pending.enter_context(station.forbid(action))
        with case.step(f"while pending: GetConfiguration({KEY}) answered"):
            res = await station.call("GetConfiguration", {"key": [KEY]})
            check_answer_ok(case, res, "GetConfiguration while pending")
            entries = {e.get("key"): e for e in res.get("configurationKey", []) or []}
            case.check(KEY in entries, f"configurationKey {KEY} in the answer",
                       f"answered {res.payload} (seq {res.frame_seqs[1]})")
            case.config_original.setdefault(KEY, entries[KEY].get("value"))  # restored later
        with case.step(f"while pending: ChangeConfiguration({KEY}={value}) Accepted"):
            res = await station.call("ChangeConfiguration", {"key": KEY, "value": value})
            check_answer(case, res, "Accepted", f"ChangeConfiguration({KEY}={value}) while pending")
        with case.step(f"BootNotification again, not before {retry_s} s: Accepted"):
            second = await expect(case, "BootNotification", after=first.mono_ns + 1,
                                  within=retry_s + case.timeout)
    case.measure("boot.retry_after_pending", (second.mono_ns - first.mono_ns) / 1e9,
                 evidence=[first.seq, second.seq])

    await available_then_heartbeats(case, second)

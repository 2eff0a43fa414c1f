"""TC_041_CS Fault Behavior (docs/catalogue.md; PW id, EV `test_fault_behavior`; steps INF).

An EV is plugged in (Preparing); a hardware fault is injected through the EV emulator (CP
shorted to PE, IEC 61851-1 state E) -> StatusNotification(Faulted) with an errorCode that
names such a fault; no transaction starts meanwhile; the fault is cleared -> the connector
leaves Faulted (Preparing, the EV still plugged); UNPLUG -> Available.
"""

import time

import pytest

from testplans.ocpp import expect, expect_status
from testplans.states import plugged_preparing

pytestmark = pytest.mark.octt("TC_041_CS", "Fault Behavior", requires=("instrument:ev",),
                              measures=("status_latency.fault",))

FAULT = "state_e"  # the EV emulator shorts CP to PE
# errorCodes that describe a CP-PE short, an inference: OCPP 1.6 has no pilot-fault code, so
# OtherError (details in vendorErrorCode) or GroundFailure (a fault to protective earth);
# EVCommunicationError goes only with Preparing, SuspendedEV(SE) or Finishing (§4.9), not Faulted
MATCHING_CODES = ("OtherError", "GroundFailure")


async def test_tc_041_cs(case, station, bench):
    n = case.connector
    await plugged_preparing(case, n)
    with station.forbid("StartTransaction"):
        try:
            with case.step(f"inject a hardware fault on connector {n} ({FAULT}: CP shorted to "
                           "PE): Faulted"):
                before = time.monotonic_ns()
                injected = await bench.inject_fault(FAULT, n)
                sn = await expect(case, "StatusNotification", {"connectorId": n}, after=before)
                status, code = sn.payload.get("status"), sn.payload.get("errorCode")
                case.check(status == "Faulted", f"StatusNotification(connector {n}, Faulted) "
                           f"after the {FAULT} fault", f"sent status {status} errorCode {code} "
                           f"(seq {sn.seq})")
                case.check(code in MATCHING_CODES, f"errorCode {' or '.join(MATCHING_CODES)} "
                           "for a CP-PE short (an inference: OCPP 1.6 has no code for it)",
                           f"sent errorCode {code} (vendorErrorCode "
                           f"{sn.payload.get('vendorErrorCode')}, seq {sn.seq})", at=sn.mono_ns)
                case.measure("status_latency.fault", (sn.mono_ns - injected) / 1e9,
                             evidence=[sn.seq])
        finally:  # never leave the fault on the rig for the next case
            cleared_at = time.monotonic_ns()
            await bench.inject_fault(FAULT, n, on=False)
        with case.step("clear the fault: the connector leaves Faulted (Preparing)"):
            await expect_status(case, n, "Preparing", after=cleared_at)
    with case.step("unplug the EV: Available"):
        before = time.monotonic_ns()
        await bench.unplug(n)
        await expect_status(case, n, "Available", after=before)

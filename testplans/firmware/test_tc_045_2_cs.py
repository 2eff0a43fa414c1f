"""TC_045_2_CS Get Diagnostics – Upload Failed (docs/catalogue.md; OCTT CSMS side p162).

The bench's server refuses every upload (HTTP 403 / FTP 550); GetDiagnostics(retries,
retryInterval) -> .conf; DiagnosticsStatusNotification Uploading -> UploadFailed, never
Uploaded; the server saw at least one attempt, none complete, at most 1 + retries, none sooner
than retryInterval after the one before (`diagnostics.retry_wait_s`); the station
keeps working (it answers GetConfiguration afterwards and does not reboot).
"""

import pytest

from bench.files import Direction, FaultMode, TransferFault
from testplans.firmware_steps import (
    DSN,
    describe_transfers,
    file_protocol,
    first_status,
    get_diagnostics,
    measure_retry_waits,
    next_status,
    transfers_of,
)
from testplans.ocpp import get_config

pytestmark = pytest.mark.octt("TC_045_2_CS", "Get Diagnostics – Upload Failed",
                              requires=("profile:FirmwareManagement",),
                              measures=("triggered.get_diagnostics",
                                        "diagnostics.upload_attempts"))


async def test_tc_045_2_cs(case, station, files):
    protocol = await file_protocol(case)
    svc = files([protocol])
    retries = int(case.setting("firmware_retries"))
    svc.arm(protocol, TransferFault(FaultMode.REFUSE, times=retries + 3))
    try:
        with case.step(f"GetDiagnostics, the {protocol} server refuses uploads: Uploading, "
                       "then UploadFailed"):
            res = await get_diagnostics(case, svc.upload_location(protocol))
            uploading = await first_status(case, DSN, "Uploading", res,
                                           "triggered.get_diagnostics")
            failed = await next_status(case, DSN, "UploadFailed", after=uploading,
                                       within=float(case.setting("diagnostics_timeout_s")))
            tries = await transfers_of(case, svc, Direction.UPLOAD, res.sent_mono_ns)
    finally:
        svc.arm(protocol, None)
    with case.step("every upload attempt failed on the server; the station keeps working"):
        case.check(bool(tries) and not any(t.complete for t in tries),
                   "at least one upload attempt, none complete",
                   f"the server saw {describe_transfers(tries)}", at=failed.mono_ns)
        case.check(len(tries) <= 1 + retries, f"at most 1 + retries = {1 + retries} attempts",
                   f"tried {len(tries)} times: {describe_transfers(tries)}", at=failed.mono_ns)
        case.measure("diagnostics.upload_attempts", len(tries),
                     evidence=[uploading.seq, failed.seq])
        measure_retry_waits(case, "diagnostics.retry_wait_s", tries)
        await get_config(case, "HeartbeatInterval")
        boots = [b for b in station.received("BootNotification") if b.mono_ns > res.sent_mono_ns]
        case.check(not boots, "no reboot after the failed upload",
                   f"rebooted (BootNotification seq {boots[0].seq if boots else ''})")

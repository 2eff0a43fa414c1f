"""TC_044_2_CS Firmware Update – Download Failed (docs/catalogue.md; OCTT CSMS side p159).

Twice, each a way a download fails: (1) a bad URL, a file the bench's server does not have
(HTTP 404 / FTP 550); (2) a server that drops the transfer half-way, on every attempt.
Each time: UpdateFirmware(retries, retryInterval) -> .conf; FirmwareStatusNotification
Downloading (again per retry, allowed) -> DownloadFailed, never Downloaded; the server saw at
least one attempt, none complete, and at most 1 + retries (OCPP 1.6 §6.50 retries: "how many
times the Charge Point must try": read as tries after the first or as all tries, both pass);
no retry sooner than retryInterval after the attempt before (`firmware.retry_wait_s`).
"""

import pytest

from bench.files import Direction, FaultMode, TransferFault
from testplans.firmware_steps import (
    FSN,
    describe_transfers,
    file_protocol,
    first_status,
    measure_retry_waits,
    next_status,
    rig_image,
    transfers_of,
    update_firmware,
)

pytestmark = pytest.mark.octt("TC_044_2_CS", "Firmware Update – Download Failed",
                              requires=("profile:FirmwareManagement",),
                              measures=("triggered.update_firmware",
                                        "firmware.download_attempts"))


async def download_fails(case, svc, url: str, how: str) -> None:
    res = await update_firmware(case, url)
    downloading = await first_status(case, FSN, "Downloading", res, "triggered.update_firmware")
    failed = await next_status(case, FSN, "DownloadFailed", after=downloading,
                               within=float(case.setting("firmware_download_timeout_s")),
                               skip=("Downloading",))
    tries = await transfers_of(case, svc, Direction.DOWNLOAD, res.sent_mono_ns)
    retries = int(case.setting("firmware_retries"))
    case.check(bool(tries) and not any(t.complete for t in tries),
               f"at least one download attempt ({how}), none complete",
               f"the server saw {describe_transfers(tries)}", at=failed.mono_ns)
    case.check(len(tries) <= 1 + retries, f"at most 1 + retries = {1 + retries} attempts",
               f"tried {len(tries)} times: {describe_transfers(tries)}", at=failed.mono_ns)
    case.measure("firmware.download_attempts", len(tries),
                 evidence=[downloading.seq, failed.seq])
    measure_retry_waits(case, "firmware.retry_wait_s", tries)


async def test_tc_044_2_cs(case, station, files):
    protocol = await file_protocol(case)
    svc = files([protocol])
    with case.step(f"UpdateFirmware with a bad URL over {protocol}: DownloadFailed"):
        await download_fails(case, svc, svc.file_url(protocol, f"{case.id.lower()}-missing.bin"),
                             "the file is not on the server")
    image = rig_image(case)
    url = svc.publish(image.name, image.data)[protocol]
    with case.step(f"UpdateFirmware, the {protocol} server drops every attempt: "
                   "DownloadFailed"):
        attempts = 1 + int(case.setting("firmware_retries"))
        svc.arm(protocol, TransferFault(FaultMode.DROP, after_bytes=len(image.data) // 2,
                                        times=attempts + 2))
        try:
            await download_fails(case, svc, url, "dropped half-way")
        finally:
            svc.arm(protocol, None)

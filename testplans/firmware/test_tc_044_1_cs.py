"""TC_044_1_CS Firmware Update – Download and Install (docs/catalogue.md; OCTT p61).

The bench serves the rig's firmware image over the first protocol of the station's
SupportedFileTransferProtocols; UpdateFirmware(location, retrieveDate now) -> .conf;
FirmwareStatusNotification Downloading -> Downloaded -> Installing (a Downloading per retry
passes); the station downloaded the whole image before it reported Downloaded (the server's
SHA-256 is the image's; the server logs a transfer when its connection closes, so it may end
up to `transfer_log_lag_s` after the report: an allowance the bench infers, not a figure of
OCPP); then
Installed, and a reboot whose BootNotification carries the image's firmwareVersion (in either
order: OCPP 1.6 does not order them). Measured: UpdateFirmware -> first notification, download
and install times (notifications), the transfer as the server saw it.
"""

import pytest

from bench.files import Direction
from testplans.firmware_steps import (
    FSN,
    describe_transfers,
    file_protocol,
    first_status,
    next_status,
    rig_image,
    seconds_between,
    transfers_of,
    update_firmware,
)
from testplans.ocpp import expect

pytestmark = pytest.mark.octt("TC_044_1_CS", "Firmware Update – Download and Install",
                              requires=("profile:FirmwareManagement",),
                              measures=("triggered.update_firmware", "firmware.download_s",
                                        "firmware.install_s", "firmware.transfer_s"))


async def test_tc_044_1_cs(case, station, files):
    protocol = await file_protocol(case)
    image = rig_image(case)
    svc = files([protocol])
    url = svc.publish(image.name, image.data)[protocol]
    with case.step(f"UpdateFirmware over {protocol}: Downloading, then Downloaded"):
        res = await update_firmware(case, url)
        downloading = await first_status(case, FSN, "Downloading", res,
                                         "triggered.update_firmware")
        downloaded = await next_status(case, FSN, "Downloaded", after=downloading,
                                       within=float(case.setting("firmware_download_timeout_s")),
                                       skip=("Downloading",))
        case.measure("firmware.download_s", seconds_between(downloading, downloaded),
                     evidence=[downloading.seq, downloaded.seq])
    with case.step("the bench's server delivered the whole image"):
        seen = await transfers_of(case, svc, Direction.DOWNLOAD, res.sent_mono_ns)
        log_lag_ns = int(float(case.setting("transfer_log_lag_s")) * 1e9)
        sent = [t for t in seen if t.complete
                and t.ended_mono_ns <= downloaded.mono_ns + log_lag_ns]
        case.check(any(t.sha256 == image.sha256 for t in sent),
                   f"a complete download of {image.name} ({len(image.data)} B) before "
                   "Downloaded", f"the server saw {describe_transfers(seen, downloaded)}",
                   at=downloaded.mono_ns)
        whole = next(t for t in sent if t.sha256 == image.sha256)
        case.measure("firmware.transfer_s", whole.seconds)
    install_s = float(case.setting("firmware_install_timeout_s"))
    with case.step("Installing, then Installed and a reboot with the new firmwareVersion"):
        installing = await next_status(case, FSN, "Installing", after=downloaded,
                                       within=install_s)
        installed = await next_status(case, FSN, "Installed", after=installing,
                                      within=install_s)
        case.measure("firmware.install_s", seconds_between(installing, installed),
                     evidence=[installing.seq, installed.seq])
        boot = await expect(case, "BootNotification", after=installing, within=install_s)
        version = boot.payload.get("firmwareVersion")
        case.check(version == image.version,
                   f"BootNotification firmwareVersion {image.version!r} after the installation",
                   f"booted with firmwareVersion {version!r} (seq {boot.seq})", at=boot.mono_ns)

"""TC_044_3_CS Firmware Update – Installation Failed (docs/catalogue.md; OCTT CSMS side p159).

The bench serves the rig's image with its last bytes inverted (a corrupt image: its checksum
or signature fails; an inference for a vendor's format, testplans/firmware_steps.corrupted);
UpdateFirmware -> .conf; FirmwareStatusNotification Downloading -> Downloaded -> Installing
(a reboot may come in between, as OCTT allows) -> InstallationFailed; a BootNotification after
Installing, if any, carries the firmwareVersion of the boot before the update (the firmware
it ran: the image's own version may be that one already).
"""

import pytest

from testplans.firmware_steps import (
    FSN,
    corrupted,
    file_protocol,
    first_status,
    next_status,
    rig_image,
    update_firmware,
)

pytestmark = pytest.mark.octt("TC_044_3_CS", "Firmware Update – Installation Failed",
                              requires=("profile:FirmwareManagement",),
                              measures=("triggered.update_firmware",))


async def test_tc_044_3_cs(case, station, files):
    protocol = await file_protocol(case)
    image = corrupted(rig_image(case))
    svc = files([protocol])
    url = svc.publish(image.name, image.data)[protocol]
    install_s = float(case.setting("firmware_install_timeout_s"))
    before = (station.session.last_boot or {}).get("firmwareVersion")
    with case.step(f"UpdateFirmware with a corrupt image over {protocol}: Downloading, "
                   "Downloaded, Installing"):
        res = await update_firmware(case, url)
        downloading = await first_status(case, FSN, "Downloading", res,
                                         "triggered.update_firmware")
        downloaded = await next_status(case, FSN, "Downloaded", after=downloading,
                                       within=float(case.setting("firmware_download_timeout_s")),
                                       skip=("Downloading",))
        installing = await next_status(case, FSN, "Installing", after=downloaded,
                                       within=install_s)
    with case.step("InstallationFailed, the firmware not changed"):
        failed = await next_status(case, FSN, "InstallationFailed", after=installing,
                                   within=install_s)
        boots = [b for b in station.received("BootNotification")
                 if installing.mono_ns < b.mono_ns <= failed.mono_ns]
        for boot in boots:
            version = boot.payload.get("firmwareVersion")
            case.check(version == before,
                       f"a reboot after the failed installation to keep the firmware it ran "
                       f"({before!r})", f"booted with firmwareVersion {version!r} "
                       f"(seq {boot.seq})", at=boot.mono_ns)
        case.passed(f"InstallationFailed (seq {failed.seq}); "
                    f"{len(boots)} reboot(s) in between")

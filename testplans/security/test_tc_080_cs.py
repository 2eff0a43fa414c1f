"""TC_080_CS Secure Firmware Update (docs/catalogue.md).

SignedUpdateFirmware with an image on the bench's file server (HTTP, or the setting
file_protocol), signed by the bench's firmware
signing certificate (under the manufacturer root, installed first) -> Accepted;
SignedFirmwareStatusNotification Downloading -> Downloaded -> SignatureVerified -> Installing
-> Installed (DownloadScheduled, InstallScheduled, InstallRebooting may come between, as the
whitepaper's enum allows); a reboot (BootNotification) between Installing and Installed when
the station reboots; SecurityEventNotification(FirmwareUpdated).
"""

import os

import pytest

from testplans.security_steps import (
    MANUFACTURER_ROOT,
    check_subsequence,
    ensure_root,
    expect_security_event,
    signed_firmware_statuses,
    signed_update_firmware,
)

pytestmark = pytest.mark.octt("TC_080_CS", "Secure Firmware Update",
                              requires=("profile:Security",),
                              measures=("security.firmware_update",
                                        "security.event_latency.FirmwareUpdated"))

REQUEST_ID = 80
FAILED = ("DownloadFailed", "InvalidSignature", "InstallationFailed", "InstallVerificationFailed",
          "InvalidCertificate", "RevokedCertificate")


async def test_tc_080_cs(case, station, files, pki):
    with case.step("pre-state: the bench's manufacturer root installed"):
        await ensure_root(case, pki, MANUFACTURER_ROOT)
    image = b"BENCH-FIRMWARE-TC080\n" + os.urandom(4096)
    with case.step("SignedUpdateFirmware(signed image): Accepted"):
        res = await signed_update_firmware(case, files, pki, REQUEST_ID, image,
                                           pki.sign_firmware(image), "tc080-firmware.bin")
    with case.step("SignedFirmwareStatusNotification chain up to Installed"):
        msgs = await signed_firmware_statuses(case, REQUEST_ID, res.sent_mono_ns,
                                              case.setting("boot_timeout_s"),
                                              ("Installed", *FAILED))
        check_subsequence(case, msgs, ["Downloading", "Downloaded", "SignatureVerified",
                                       "Installing", "Installed"],
                          {"DownloadScheduled", "InstallScheduled", "InstallRebooting"},
                          "SignedFirmwareStatusNotification")
        installing = next(m for m in msgs if m.payload["status"] == "Installing")
        boots = [b for b in station.received("BootNotification")
                 if installing.mono_ns < b.mono_ns < msgs[-1].mono_ns]
        rebooted = any(m.payload["status"] == "InstallRebooting" for m in msgs)
        case.check(bool(boots) or not rebooted,
                   "a BootNotification between InstallRebooting and Installed",
                   "sent InstallRebooting but no BootNotification before Installed")
        case.measure("security.firmware_update", (msgs[-1].mono_ns - res.sent_mono_ns) / 1e9,
                     evidence=[res.frame_seqs[0], msgs[-1].seq])
    with case.step("SecurityEventNotification(FirmwareUpdated)"):
        await expect_security_event(case, "FirmwareUpdated", res)

"""TC_081_CS Secure Firmware Update – Invalid Signature (docs/catalogue.md).

SignedUpdateFirmware of an image whose signature is for other bytes -> Accepted;
SignedFirmwareStatusNotification Downloading -> Downloaded -> InvalidSignature, never
SignatureVerified or Installing; SecurityEventNotification(InvalidFirmwareSignature).
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

pytestmark = pytest.mark.octt("TC_081_CS", "Secure Firmware Update – Invalid Signature",
                              requires=("profile:Security",),
                              measures=("security.event_latency.InvalidFirmwareSignature",))

REQUEST_ID = 81


async def test_tc_081_cs(case, station, files, pki):
    with case.step("pre-state: the bench's manufacturer root installed"):
        await ensure_root(case, pki, MANUFACTURER_ROOT)
    image = b"BENCH-FIRMWARE-TC081\n" + os.urandom(4096)
    with case.step("SignedUpdateFirmware(signature of other bytes): Accepted"):
        res = await signed_update_firmware(case, files, pki, REQUEST_ID, image,
                                           pki.sign_firmware(image + b"tampered"),
                                           "tc081-firmware.bin")
    with case.step("SignedFirmwareStatusNotification Downloading -> Downloaded -> "
                   "InvalidSignature"):
        msgs = await signed_firmware_statuses(
            case, REQUEST_ID, res.sent_mono_ns, case.timeout,
            ("InvalidSignature", "SignatureVerified", "Installing", "Installed",
             "DownloadFailed"))
        check_subsequence(case, msgs, ["Downloading", "Downloaded", "InvalidSignature"],
                          {"DownloadScheduled"}, "SignedFirmwareStatusNotification")
    with case.step("SecurityEventNotification(InvalidFirmwareSignature)"):
        await expect_security_event(case, "InvalidFirmwareSignature", res)

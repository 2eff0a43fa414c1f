"""A simulated rig that declares Firmware Management and Remote Trigger: rigs/sim.toml with
those profiles in [pics] (and the image the station installs) and in the station's
SupportedFeatureProfiles, written into a test's folder."""

from __future__ import annotations

from pathlib import Path

from test_plans_support import REPO

PROFILES = ("Core", "FirmwareManagement", "RemoteTrigger")
IMAGE = REPO / "rigs" / "firmware" / "smartdc-sim-v8.9.0.fw"
IMAGE_VERSION = "v8.9.0"


def firmware_rig(folder: Path, protocols: str = "FTP,HTTP", profiles=PROFILES) -> Path:
    station = folder / "firmware-station.toml"
    station.write_text(
        "[station]\nfirmware_install_s = 0.5\n[keys]\n"
        f'SupportedFeatureProfiles = {{ value = "{",".join(profiles)}", readonly = true }}\n'
        f'SupportedFileTransferProtocols = {{ value = "{protocols}", readonly = true }}\n',
        "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace('feature_profiles = ["Core"]',
                        f"feature_profiles = {list(profiles)!r}\n"
                        f"firmware_image = {str(IMAGE)!r}\n"
                        f"firmware_image_version = {IMAGE_VERSION!r}")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "firmware-rig.toml"
    rig.write_text(text, "utf-8")
    return rig

"""A simulated rig that declares optional OCPP 1.6 profiles: rigs/sim.toml with the profiles in
[pics] feature_profiles (and, for Firmware Management, the image the station installs) and in
the simulated station's SupportedFeatureProfiles, written into a folder. For tests,
benchmarks and hand runs of the firmware and trigger plans:

    rig = write_profile_rig(Path("/tmp/x"))          # Core, FirmwareManagement, RemoteTrigger
    bench run --plan firmware --rig /tmp/x/profile-rig.toml
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES = ("Core", "FirmwareManagement", "RemoteTrigger")
IMAGE = REPO / "rigs" / "firmware" / "smartdc-sim-v8.9.0.fw"  # sim/station/firmware_image.py
IMAGE_VERSION = "v8.9.0"


def write_profile_rig(folder: Path, protocols: str = "FTP,HTTP",
                      profiles: tuple[str, ...] = PROFILES,
                      install_s: float = 0.5) -> Path:
    """The rig file (and its station TOML) in `folder`; `protocols` is the station's
    SupportedFileTransferProtocols, `install_s` how long its installation takes."""
    folder.mkdir(parents=True, exist_ok=True)
    station = folder / "profile-station.toml"
    station.write_text(
        f"[station]\nfirmware_install_s = {install_s}\n[keys]\n"
        f'SupportedFeatureProfiles = {{ value = "{",".join(profiles)}", readonly = true }}\n'
        f'SupportedFileTransferProtocols = {{ value = "{protocols}", readonly = true }}\n',
        "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    declared = 'feature_profiles = ["Core"]'
    if declared not in text:
        raise ValueError(f"rigs/sim.toml no longer says {declared}: update {__name__}")
    text = text.replace(declared, f"feature_profiles = {list(profiles)!r}\n"
                                  f"firmware_image = {str(IMAGE)!r}\n"
                                  f"firmware_image_version = {IMAGE_VERSION!r}")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "profile-rig.toml"
    rig.write_text(text, "utf-8")
    return rig

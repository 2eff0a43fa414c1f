"""Firmware Management and Remote Trigger of the station simulator, over real sockets: the
bench's CSMS on loopback and the bench's own HTTP and FTP file servers; the station really
fetches the image and really uploads its diagnostics archive."""

from __future__ import annotations

import asyncio
import contextlib
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pki_support import make_pki
from test_station_support import station_rig, wait_until

from bench.files import Direction, FaultMode, FilesConfig, FileService, TransferFault
from bench.record import RunRecord
from sim.station.firmware_image import ImageError, build_image, parse_image
from sim.station.transfer import download, upload

PROFILES = {"SupportedFeatureProfiles": {"value": "Core,FirmwareManagement,RemoteTrigger",
                                         "readonly": True},
            "SupportedFileTransferProtocols": {"value": "FTP,HTTP", "readonly": True}}
IMAGE = build_image("v9.0.0-test", b"firmware body\n" * 500)
FAST = {"firmware_install_s": 0.2}


@contextlib.contextmanager
def file_service(folder: Path) -> Iterator[FileService]:
    """The bench's HTTP and FTP file servers on loopback, stopped on exit."""
    rec = RunRecord(folder / "files-run")
    svc = FileService(folder / "files-run" / "files", rec, FilesConfig(host="127.0.0.1"))
    svc.start(["HTTP", "FTP"])
    try:
        yield svc
    finally:
        svc.stop()
        rec.close()


@pytest.fixture
def files(tmp_path):
    with file_service(tmp_path) as svc:
        yield svc


def now_iso() -> str:
    from testplans.ocpp import utc_timestamp
    return utc_timestamp()


async def landed(files: FileService, count: int, direction: Direction | None = None,
                 within: float = 5) -> list:
    """The transfers once `count` of them are logged: an FTP server logs a transfer only after
    its final reply, which the station may act on first."""
    await wait_until(lambda: len(files.transfers(direction)) >= count, within,
                     f"{count} {direction or 'transfer'}(s) on the bench's file servers")
    return files.transfers(direction)


async def statuses(rig, action: str, until: set[str], within: float = 10) -> list[str]:
    seen: list[str] = []
    while not seen or seen[-1] not in until:
        msg = await rig.cs.expect(action, within=within)
        seen.append(msg.payload["status"])
    return seen


def test_image_digest_is_checked():
    assert parse_image(IMAGE).version == "v9.0.0-test"
    corrupt = IMAGE[:-10] + bytes(b ^ 0xFF for b in IMAGE[-10:])
    with pytest.raises(ImageError, match="corrupt image"):
        parse_image(corrupt)
    with pytest.raises(ImageError, match="no header"):
        parse_image(b"MZ\x90\x00")


async def test_tls_servers_serve_the_image_and_take_the_upload(tmp_path: Path):
    """HTTPS and FTPS (explicit TLS, protected data channel) as the station uses them."""
    pki = make_pki(tmp_path / "pki", {"server": ("127.0.0.1", "127.0.0.1")})
    rec = RunRecord(tmp_path / "tls-run")
    svc = FileService(tmp_path / "tls-run" / "files", rec, FilesConfig(
        host="127.0.0.1", tls_cert=pki["server"], tls_key=pki["server_key"]))
    svc.start(["HTTPS", "FTPS"])
    try:
        urls = svc.publish("fw.bin", IMAGE)
        for protocol in ("HTTPS", "FTPS"):
            assert await asyncio.to_thread(download, urls[protocol], 10) == IMAGE
            await asyncio.to_thread(upload, svc.upload_location(protocol), f"d-{protocol}.zip",
                                    b"diagnostics", 10)
        await landed(svc, 4)
    finally:
        svc.stop()
        rec.close()
    done = {(t.protocol, str(t.direction)) for t in svc.transfers() if t.complete}
    assert done == {(p, d) for p in ("HTTPS", "FTPS") for d in ("download", "upload")}


@pytest.mark.parametrize("protocol", ["HTTP", "FTP"])
async def test_update_installs_and_boots_with_new_version(tmp_path: Path, files, protocol):
    url = files.publish("fw.bin", IMAGE)[protocol]
    async with station_rig(tmp_path, keys=PROFILES, station=FAST) as rig:
        res = await rig.cs.call("UpdateFirmware", {"location": url, "retrieveDate": now_iso()})
        assert res.error is None and res.payload == {}
        chain = await statuses(rig, "FirmwareStatusNotification", {"Installing"})
        assert chain == ["Downloading", "Downloaded", "Installing"]
        boot = await rig.cs.expect("BootNotification", within=10, after=res.sent_mono_ns)
        assert boot.payload["firmwareVersion"] == "v9.0.0-test"
        done = await rig.cs.expect("FirmwareStatusNotification", within=10)
        assert done.payload["status"] == "Installed"
    [t] = await landed(files, 1, Direction.DOWNLOAD)
    assert t.complete and t.protocol == protocol and t.bytes == len(IMAGE)


async def test_dropped_download_retries_then_fails(tmp_path: Path, files):
    url = files.publish("fw.bin", IMAGE)["HTTP"]
    files.arm("HTTP", TransferFault(FaultMode.DROP, after_bytes=1000, times=2))
    async with station_rig(tmp_path, keys=PROFILES, station=FAST) as rig:
        await rig.cs.call("UpdateFirmware", {"location": url, "retrieveDate": now_iso(),
                                             "retries": 1, "retryInterval": 1})
        assert await statuses(rig, "FirmwareStatusNotification",
                              {"DownloadFailed"}) == ["Downloading", "DownloadFailed"]
    tries = await landed(files, 2, Direction.DOWNLOAD)
    assert [t.complete for t in tries] == [False, False]


async def test_corrupt_image_fails_installation_and_keeps_version(tmp_path: Path, files):
    corrupt = IMAGE[:-10] + bytes(b ^ 0xFF for b in IMAGE[-10:])
    url = files.publish("bad.bin", corrupt)["FTP"]
    async with station_rig(tmp_path, keys=PROFILES, station=FAST) as rig:
        await rig.cs.call("UpdateFirmware", {"location": url, "retrieveDate": now_iso()})
        chain = await statuses(rig, "FirmwareStatusNotification", {"InstallationFailed"})
        assert chain == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert rig.sim.firmware.version == rig.sim.cfg.firmware


@pytest.mark.parametrize("protocol", ["HTTP", "FTP"])
async def test_diagnostics_upload_lands_on_disk(tmp_path: Path, files, protocol):
    async with station_rig(tmp_path, keys=PROFILES, station=FAST) as rig:
        res = await rig.cs.call("GetDiagnostics", {"location": files.upload_location(protocol)})
        name = res.get("fileName")
        assert name and name.endswith(".tar.gz")
        assert await statuses(rig, "DiagnosticsStatusNotification",
                              {"Uploaded", "UploadFailed"}) == ["Uploading", "Uploaded"]
    [t] = await landed(files, 1, Direction.UPLOAD)
    assert t.complete and t.name == name and t.path
    with tarfile.open(t.path) as tar:
        assert {"status.json", "configuration.json", "history.log"} <= set(tar.getnames())


async def test_refused_upload_is_upload_failed(tmp_path: Path, files):
    files.arm("HTTP", TransferFault(FaultMode.REFUSE, times=3))
    async with station_rig(tmp_path, keys=PROFILES, station=FAST) as rig:
        await rig.cs.call("GetDiagnostics", {"location": files.upload_location("HTTP"),
                                             "retries": 1, "retryInterval": 1})
        assert await statuses(rig, "DiagnosticsStatusNotification",
                              {"Uploaded", "UploadFailed"}) == ["Uploading", "UploadFailed"]
    assert len(await landed(files, 2, Direction.UPLOAD)) == 2  # the first try and one retry


async def test_trigger_message_answers_and_sends(tmp_path: Path):
    async with station_rig(tmp_path, keys=PROFILES) as rig:
        for what, match in (("Heartbeat", None), ("BootNotification", None),
                            ("FirmwareStatusNotification", {"status": "Idle"}),
                            ("DiagnosticsStatusNotification", {"status": "Idle"})):
            res = await rig.cs.call("TriggerMessage", {"requestedMessage": what})
            assert res.get("status") == "Accepted", what
            await rig.cs.expect(what, match, within=5, after=res.sent_mono_ns)
        res = await rig.cs.call("TriggerMessage", {"requestedMessage": "MeterValues",
                                                   "connectorId": 2})
        mv = await rig.cs.expect("MeterValues", {"connectorId": 2}, within=5,
                                 after=res.sent_mono_ns)
        assert mv.payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        res = await rig.cs.call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                                   "connectorId": 3})
        assert res.get("status") == "Rejected"


async def test_trigger_without_firmware_profile_is_not_implemented(tmp_path: Path):
    keys = {"SupportedFeatureProfiles": {"value": "Core,RemoteTrigger", "readonly": True}}
    async with station_rig(tmp_path, keys=keys) as rig:
        res = await rig.cs.call("TriggerMessage",
                                {"requestedMessage": "FirmwareStatusNotification"})
        assert res.get("status") == "NotImplemented"
        res = await rig.cs.call("UpdateFirmware", {"location": "http://127.0.0.1:1/x",
                                                   "retrieveDate": now_iso()})
        assert res.error is not None and res.error.code == "NotSupported"

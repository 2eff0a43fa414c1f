"""The bench's file servers over real sockets: stdlib clients (urllib, ftplib) download what the
bench serves and upload into it, over HTTP, HTTPS, FTP and FTPS; armed faults refuse or drop
the next transfer; every transfer lands in the run record; station names never become paths."""

from __future__ import annotations

import asyncio
import ftplib
import hashlib
import http.client
import ssl
import time
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pki_support import make_pki

from bench.files import Direction, FaultMode, FilesConfig, FileService, FileServiceError
from bench.files import TransferFault as Fault
from bench.record import RunRecord
from bench.record.reader import load_run

IMAGE = bytes(range(256)) * 400  # 100 kB, so a drop at 10 kB is half-way at most


@pytest.fixture
def service(tmp_path):
    pki = make_pki(tmp_path / "pki", {"server": ("127.0.0.1", "127.0.0.1")})
    rec = RunRecord(tmp_path / "run")
    svc = FileService(tmp_path / "run" / "files", rec, FilesConfig(
        host="127.0.0.1", tls_cert=pki["server"], tls_key=pki["server_key"]))
    svc.start(["HTTP", "HTTPS", "FTP", "FTPS"])
    svc.ca = pki["ca"]  # type: ignore[attr-defined]
    yield svc
    svc.stop()
    rec.close()


def client_tls(svc) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(svc.ca))


def http_get(svc, url: str) -> bytes:
    ctx = client_tls(svc) if url.startswith("https") else None
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        return r.read()


def ftp_client(svc, url: str) -> tuple[ftplib.FTP, str]:
    u = urlsplit(url)
    if u.scheme == "ftps":
        ftp: ftplib.FTP = ftplib.FTP_TLS(context=client_tls(svc), timeout=10)
    else:
        ftp = ftplib.FTP(timeout=10)
    ftp.connect(u.hostname, u.port)
    ftp.login(u.username, urllib.request.unquote(u.password or ""))
    if isinstance(ftp, ftplib.FTP_TLS):
        ftp.prot_p()
    return ftp, u.path


def transfers(svc, n: int):
    """The first n transfers in the run record: a server logs a transfer after its last byte
    left, so the client may be done a moment before the line is written."""
    deadline = time.monotonic() + 10
    while True:
        got = [e["detail"] for e in load_run(svc.record.path).events
               if e["kind"] == "file" and e["name"] == "transfer"]
        if len(got) >= n or time.monotonic() > deadline:
            assert len(got) == n, got
            return got
        time.sleep(0.02)


@pytest.mark.parametrize("protocol", ["HTTP", "HTTPS", "FTP", "FTPS"])
def test_download_and_upload_are_served_and_recorded(service, protocol):
    url = service.publish("fw-2.0.bin", IMAGE)[protocol]
    if protocol.startswith("HTTP"):
        assert http_get(service, url) == IMAGE
        req = urllib.request.Request(service.upload_location(protocol) + "diag.zip",
                                     data=b"diagnostics", method="PUT")
        ctx = client_tls(service) if protocol == "HTTPS" else None
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            assert r.status == 201
    else:
        ftp, path = ftp_client(service, url)
        got = BytesIO()
        ftp.retrbinary(f"RETR {path}", got.write)
        assert got.getvalue() == IMAGE
        ftp.cwd(urlsplit(service.upload_location(protocol)).path)
        ftp.storbinary("STOR diag.zip", BytesIO(b"diagnostics"))
        ftp.quit()
    down, up = sorted(transfers(service, 2), key=lambda t: t["direction"])
    assert (down["protocol"], down["direction"], down["complete"]) == (protocol, "download", True)
    assert down["bytes"] == len(IMAGE) and down["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert (up["direction"], up["complete"], up["bytes"]) == ("upload", True, 11)
    assert Path(up["path"]).read_bytes() == b"diagnostics"
    assert Path(up["path"]).parent == service.depot.received


def test_http_multipart_upload_keeps_the_file_part(service):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"log.tar.gz\"\r\nContent-Type: application/gzip\r\n\r\n").encode() \
        + b"\x1f\x8b payload" + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(service.upload_location("HTTP"), data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; "
                                                          f"boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    (up,) = transfers(service, 1)
    assert up["file"] == "log.tar.gz" and Path(up["path"]).read_bytes() == b"\x1f\x8b payload"


@pytest.mark.parametrize("protocol", ["HTTP", "FTP"])
def test_armed_faults_refuse_then_drop_the_next_download(service, protocol):
    url = service.publish("fw.bin", IMAGE)[protocol]
    service.arm(protocol, Fault(FaultMode.REFUSE))
    with pytest.raises((urllib.error.HTTPError, ftplib.error_perm)):
        if protocol == "HTTP":
            http_get(service, url)
        else:
            ftp, path = ftp_client(service, url)
            ftp.retrbinary(f"RETR {path}", lambda _: None)
    service.arm(protocol, Fault(FaultMode.DROP, after_bytes=10_000))
    got = BytesIO()
    with pytest.raises((http.client.IncompleteRead, ftplib.error_temp)):
        if protocol == "HTTP":
            got.write(http_get(service, url))
        else:
            ftp, path = ftp_client(service, url)
            ftp.retrbinary(f"RETR {path}", got.write)
    refused, dropped = sorted(transfers(service, 2), key=lambda t: t["started_mono_ns"])
    assert refused["complete"] is False and "refused" in refused["detail"]
    assert dropped["complete"] is False and dropped["bytes"] <= 10_000
    assert "dropped after" in dropped["detail"]
    assert len(got.getvalue()) <= 10_000
    assert http_get(service, service.publish("fw.bin", IMAGE)["HTTP"]) == IMAGE  # disarmed


def test_a_dropped_ftp_upload_is_incomplete(service):
    service.arm("FTP", Fault(FaultMode.DROP, after_bytes=4096))
    ftp, _ = ftp_client(service, service.upload_location("FTP"))
    ftp.cwd("/received")
    with pytest.raises((OSError, ftplib.error_temp)):  # 426, or the reset data socket
        ftp.storbinary("STOR big.log", BytesIO(IMAGE))
    (up,) = transfers(service, 1)
    assert up["direction"] == "upload" and up["complete"] is False
    assert up["bytes"] == 4096 and Path(up["path"]).stat().st_size == 4096


def test_station_names_never_become_paths(service):
    for hostile in ("../../etc/passwd", "..%2F..%2Fx", ".hidden", "a%1Bb%00"):
        req = urllib.request.Request(service.upload_location("HTTP") + hostile, data=b"x",
                                     method="PUT")
        with urllib.request.urlopen(req, timeout=10):
            pass
    received = sorted(p.name for p in service.depot.received.iterdir())
    assert all("/" not in n and not n.startswith(".") for n in received), received
    assert len(received) == 4  # none overwrote another
    assert not (service.root.parent / "etc").exists()
    ftp, _ = ftp_client(service, service.upload_location("FTP"))
    with pytest.raises(ftplib.error_perm):  # served/ is read-only for the station
        ftp.storbinary("STOR /served/fw.bin", BytesIO(b"evil"))
    ftp.quit()


async def test_wait_transfer_names_what_it_saw(service):
    url = service.publish("fw.bin", IMAGE)["HTTP"]
    loop = asyncio.get_running_loop()
    start = 0
    waiting = asyncio.create_task(service.wait_transfer(Direction.DOWNLOAD, after_ns=start,
                                                        within_s=10, complete=True))
    await loop.run_in_executor(None, http_get, service, url)
    got = await waiting
    assert got.complete and got.bytes == len(IMAGE)
    with pytest.raises(FileServiceError, match=r"waited 0.2 s for a complete upload.*saw HTTP "
                                               r"download 'fw.bin'"):
        await service.wait_transfer(Direction.UPLOAD, after_ns=start, within_s=0.2,
                                    complete=True)


def test_public_address_must_be_said_when_listening_everywhere(tmp_path):
    rec = RunRecord(tmp_path / "run")
    svc = FileService(tmp_path / "files", rec, FilesConfig(host="0.0.0.0"))
    with pytest.raises(FileServiceError, match=r"\[files\] advertise"):
        svc.start(["HTTP"])
    rec.close()
    with pytest.raises(FileServiceError, match="HTTPS needs a certificate"):
        FileService(tmp_path / "f2", rec, FilesConfig()).start(["HTTPS"])


def test_a_fault_armed_for_several_transfers_breaks_each(service):
    url = service.publish("fw-3.bin", IMAGE)["HTTP"]
    service.arm("HTTP", Fault(FaultMode.REFUSE, times=2))
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError) as refused:
            http_get(service, url)
        assert refused.value.code == 404
    assert http_get(service, url) == IMAGE  # the third goes through
    assert [t["complete"] for t in transfers(service, 3)] == [False, False, True]


def test_a_missing_ftp_file_is_recorded_like_http_404(service):
    ftp, path = ftp_client(service, service.file_url("FTP", "never-published.bin"))
    with pytest.raises(ftplib.error_perm, match="550"):
        ftp.retrbinary(f"RETR {path}", BytesIO().write)
    ftp.quit()
    [t] = transfers(service, 1)
    assert (t["direction"], t["complete"], t["detail"]) == ("download", False,
                                                            "550: no such file")

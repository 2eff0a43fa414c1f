"""Steps the Firmware Management cases share (TC_044_x, TC_045_x): which file server to use,
the image to serve, UpdateFirmware / GetDiagnostics as the bench sends them, and the station's
status notifications read as a chain (OCPP 1.6 §4.4 DiagnosticsStatusNotification, §4.5
FirmwareStatusNotification).

The chain is read one notification at a time after the previous one, so that a status that
comes out of order or never comes fails with what the station sent instead."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.csms.errors import ExpectTimeout
from bench.files import Direction
from bench.files.model import PROTOCOLS, FileServiceError, safe_name
from bench.plugin import Case
from bench.plugin.maintenance import wait_connected
from testplans.ocpp import check_answer_ok, expect, triggered, utc_timestamp

FSN = "FirmwareStatusNotification"
DSN = "DiagnosticsStatusNotification"
# where an update ends (OCPP 1.6 §7.25): nothing more comes for it
UPDATE_ENDS = ("Installed", "InstallationFailed", "DownloadFailed")


@dataclass(frozen=True, slots=True)
class Image:
    data: bytes
    version: str  # the firmwareVersion the station must boot with once it is installed
    name: str  # as the bench serves it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


async def file_protocol(case: Case) -> str:
    """The protocol of the transfers: the setting file_protocol, else the first of the
    station's SupportedFileTransferProtocols the bench serves (§9.4). The key is optional:
    without it only the setting can say."""
    wanted = str(case.setting("file_protocol") or "").upper()
    res = await case.station.call("GetConfiguration", {"key": ["SupportedFileTransferProtocols"]})
    check_answer_ok(case, res, "GetConfiguration")
    values = {e.get("key"): e.get("value") for e in res.get("configurationKey", []) or []}
    if "SupportedFileTransferProtocols" not in values:
        if wanted not in PROTOCOLS:
            raise RuntimeError(f"{case.id}: the station does not report "
                               "SupportedFileTransferProtocols (optional, OCPP 1.6 §9.4): set "
                               f"file_protocol to one of {', '.join(PROTOCOLS)}")
        case.unverifiable(f"the station transfers files over {wanted}", "it does not report "
                          "SupportedFileTransferProtocols; the setting file_protocol says so")
        return wanted
    declared_text = values["SupportedFileTransferProtocols"] or ""
    declared = [p.strip().upper() for p in declared_text.split(",") if p.strip()]
    if wanted:
        case.check(wanted in declared, f"SupportedFileTransferProtocols to contain {wanted} "
                   "(setting file_protocol)", f"reports {declared_text!r}")
        return wanted
    usable = [p for p in declared if p in PROTOCOLS]
    case.check(bool(usable), f"SupportedFileTransferProtocols to name one of "
               f"{', '.join(PROTOCOLS)}", f"reports {declared_text!r}")
    return usable[0]


def rig_image(case: Case) -> Image:
    """The image the rig declares ([pics] firmware_image, firmware_image_version)."""
    declared = case.ctx.settings  # the rig's [pics] are part of the settings
    path, version = declared.get("firmware_image"), declared.get("firmware_image_version")
    if not path or not version:
        raise RuntimeError(f"{case.id} needs a firmware image: the rig's [pics] declares no "
                           "firmware_image and firmware_image_version")
    data = Path(path).read_bytes()
    return Image(data, str(version), f"{case.id.lower()}-{safe_name(Path(path).name)}")


def corrupted(image: Image) -> Image:
    """The image with its last 64 bytes inverted: a station that checks the checksum or
    signature its image carries must refuse to install it (an inference for a vendor's
    format: the bench does not know where its check sits, the end of a file is covered by
    any whole-file digest or signature)."""
    n = min(64, len(image.data))
    data = image.data[:-n] + bytes(b ^ 0xFF for b in image.data[-n:])
    return Image(data, image.version, f"corrupt-{image.name}")


async def update_firmware(case: Case, location: str) -> Any:
    """UpdateFirmware(location, retrieveDate now, retries, retryInterval); .conf is empty."""
    res = await case.station.call("UpdateFirmware", {
        "location": location, "retrieveDate": utc_timestamp(),
        "retries": int(case.setting("firmware_retries")),
        "retryInterval": int(case.setting("firmware_retry_interval_s"))})
    check_answer_ok(case, res, "UpdateFirmware")
    wait_out_update(case, res.sent_mono_ns)
    return res


def wait_out_update(case: Case, sent_ns: int) -> None:
    """Register with the maintenance a wait for the update's last status: a case that ends
    half-way (a check failed at Downloaded) must not leave the station downloading or
    installing into the next case. The wait is what the case itself allows for the update,
    counted from its request, so a station that never finishes costs no more than that."""
    allowed_s = (float(case.setting("firmware_download_timeout_s"))
                 + float(case.setting("firmware_install_timeout_s")))
    boot_s = float(case.setting("boot_timeout_s"))
    station = case.station

    async def update_ended() -> None:
        deadline = sent_ns + int(allowed_s * 1e9)
        while not ((last := station.session.firmware) and last.mono_ns >= sent_ns
                   and last.status in UPDATE_ENDS):
            if time.monotonic_ns() > deadline:
                seen = f"{last.status} (seq {last.seq})" if last and last.mono_ns >= sent_ns \
                    else "no FirmwareStatusNotification since"
                raise TimeoutError(f"waited {allowed_s:g} s from the UpdateFirmware request for "
                                   f"{' or '.join(UPDATE_ENDS)}; last seen: {seen}")
            await asyncio.sleep(0.2)
        await wait_connected(station, boot_s)  # the reboot into the new image, if any

    # a later update in the same case replaces the wait: its end is the last one
    case.undo["firmware update ended"] = (update_ended, allowed_s + boot_s + 5)


async def get_diagnostics(case: Case, location: str) -> Any:
    res = await case.station.call("GetDiagnostics", {
        "location": location, "retries": int(case.setting("firmware_retries")),
        "retryInterval": int(case.setting("firmware_retry_interval_s"))})
    check_answer_ok(case, res, "GetDiagnostics")
    return res


async def next_status(case: Case, action: str, wanted: str | tuple[str, ...], *, after: Any,
                      within: float, skip: tuple[str, ...] = ()) -> Any:
    """The station's next `action` after `after`, which must carry `wanted`; statuses in
    `skip` (a Downloading per retry) are passed over."""
    allowed = (wanted,) if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + within
    while True:
        try:
            msg = await expect(case, action, after=after,
                               within=max(0.05, deadline - time.monotonic()))
        except ExpectTimeout as exc:
            raise ExpectTimeout(f"expected {action} {' or '.join(allowed)} after the "
                                f"{describe(after)} within {within:g} s; none came "
                                f"({exc})") from None
        status = msg.payload.get("status")
        if status in skip and status not in allowed:
            after = msg
            continue
        case.check(status in allowed, f"{action} {' or '.join(allowed)} after the "
                   f"{describe(after)}", f"sent status {status} (seq {msg.seq})", at=msg.mono_ns)
        return msg


def describe(after: Any) -> str:
    if isinstance(after, int):
        return "request"
    status = after.payload.get("status") if after.action in (FSN, DSN) else None
    return f"{after.action}{f' {status}' if status else ''} (seq {after.seq})"


async def first_status(case: Case, action: str, wanted: str, call: Any, name: str) -> Any:
    """The first notification after the CALL: the triggered-function time is measured."""
    msg = await next_status(case, action, wanted, after=call.sent_mono_ns, within=case.timeout)
    triggered(case, name, call, msg)
    return msg


def seconds_between(a: Any, b: Any) -> float:
    return (b.mono_ns - a.mono_ns) / 1e9


async def transfers_of(case: Case, files: Any, direction: Direction, after_ns: int,
                       wait_s: float = 2.0, settle_s: float = 0.5) -> list[Any]:
    """What the bench's servers saw of `direction` since `after_ns`. A transfer is logged when
    its connection ends, which an FTP server does after its final reply: the station may report
    first. So wait `wait_s` for the first one, then until `settle_s` passes without another."""
    try:
        await files.wait_transfer(direction, after_ns=after_ns, within_s=wait_s)
        while True:
            last = max(t.ended_mono_ns for t in files.transfers(direction, after_ns))
            await files.wait_transfer(direction, after_ns=last + 1, within_s=settle_s)
    except FileServiceError:  # none came (the empty list says so) or no more came
        pass
    return files.transfers(direction, after_ns)


def measure_retry_waits(case: Case, name: str, tries: list[Any]) -> None:
    """The waits between one attempt's end and the next one's start, as the server saw them:
    retryInterval is the time after which a retry may be attempted (OCPP 1.6 §6.50, §6.23)."""
    tries = sorted(tries, key=lambda t: t.started_mono_ns)
    waits = [(b.started_mono_ns - a.ended_mono_ns) / 1e9 for a, b in itertools.pairwise(tries)]
    if waits:
        case.measure(name, series=waits)
    else:
        case.measure(name, unset_reason=f"{len(tries)} attempt(s): no retry to time")


def describe_transfers(transfers: list[Any], report: Any = None) -> str:
    """Each transfer; with `report` (a status notification), when it ended relative to it."""
    def when(t: Any) -> str:
        if report is None:
            return ""
        lag = (t.ended_mono_ns - report.mono_ns) / 1e9
        return f", ended {abs(lag):.3f} s {'after' if lag > 0 else 'before'} seq {report.seq}"
    return "; ".join(f"{t.protocol} {t.name!r} {t.bytes} B "
                     f"{'complete' if t.complete else t.detail}{when(t)}"
                     for t in transfers) or "none"


def size_on_disk(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def readable_archive(path: Path) -> tuple[bool, str]:
    """Whether an uploaded diagnostics file reads as what its name says; members when it
    is an archive (tar, tar.gz, zip), else only that it is not empty."""
    name = path.name.lower()
    try:
        if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
            with tarfile.open(path) as tar:
                members = tar.getnames()
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
                if bad is not None:
                    return False, f"zip member {bad!r} is corrupt"
                members = z.namelist()
        else:
            return path.stat().st_size > 0, f"{path.stat().st_size} bytes (not an archive)"
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        return False, f"does not read as its name says: {type(exc).__name__}: {exc}"
    return bool(members), f"archive with {len(members)} member(s): {', '.join(members[:5])}"

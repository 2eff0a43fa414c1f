"""Firmware Management of the simulated station (OCPP 1.6 §5.19 UpdateFirmware, §5.9
GetDiagnostics, §4.4/§4.5 the status notifications).

UpdateFirmware: at retrieveDate the station fetches the image from the bench's file server
(FirmwareStatusNotification Downloading; 1 + retries attempts, retryInterval apart; then
Downloaded or DownloadFailed), checks its digest (Installing, then InstallationFailed for a
corrupt image), installs (the new version in non-volatile memory) and reboots; after the
reboot BootNotification carries the new firmwareVersion and FirmwareStatusNotification
Installed follows. Installation waits until no transaction runs (§5.19: the station should).

GetDiagnostics: the answer names the file (fileName); the station packs a tar.gz (behaviour
diagnostics_zip: a zip) of its
status, configuration and firmware history and uploads it to the location
(DiagnosticsStatusNotification Uploading, then Uploaded or UploadFailed).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import tarfile
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sim.station.firmware_image import ImageError, parse_image, read_version
from sim.station.link import CallTimeout, LinkDown, PeerError
from sim.station.meter import iso_utc
from sim.station.transfer import TRANSFER_TIMEOUT_S, TransferError, download, shown, upload

if TYPE_CHECKING:
    from sim.station.station import StationSimulator

log = logging.getLogger(__name__)

PROFILE = "FirmwareManagement"
DEFAULT_RETRIES = 1  # when UpdateFirmware / GetDiagnostics leave retries out: ours to choose
DEFAULT_RETRY_INTERVAL_S = 5
NOTIFY_ONLINE_S = 60.0  # how long a status notification waits for the connection
FIRMWARE_DONE = ("DownloadFailed", "InstallationFailed", "Installed")


class Firmware:
    def __init__(self, station: StationSimulator) -> None:
        self.st = station
        self.firmware_status = "Idle"  # volatile: what a triggered notification reports
        self.diagnostics_status = "Idle"
        self.history: list[str] = []  # for the diagnostics file

    # -- what the station is --------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        profiles = [p.strip() for p in self.st.key("SupportedFeatureProfiles").split(",")]
        return PROFILE in profiles

    @property
    def version(self) -> str:
        """The firmwareVersion the station boots with: the last one installed."""
        installed = self.st.store.get("firmware", {}).get("version")
        if installed and not self.st.fault("firmware_version_not_updated"):
            return str(installed)
        return self.st.cfg.firmware

    def handlers(self) -> dict[str, Callable[[dict], Awaitable[dict]]]:
        return {"UpdateFirmware": self.update_firmware, "GetDiagnostics": self.get_diagnostics}

    def reset_volatile(self) -> None:
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"

    async def after_boot(self) -> None:
        """An installation that ended in a reboot is reported (Installed, or
        InstallationFailed) once booted."""
        state = self.st.store.get("firmware", {})
        pending = state.pop("pending_status", None)
        if not pending:
            return
        self.st.store.put("firmware", state)
        await self._notify_firmware(pending)

    # -- UpdateFirmware ---------------------------------------------------------------------
    async def update_firmware(self, p: dict) -> dict:
        retries = int(p.get("retries", DEFAULT_RETRIES))
        interval = int(p.get("retryInterval", DEFAULT_RETRY_INTERVAL_S))
        self.st.spawn(self._update(p["location"], p["retrieveDate"], retries, interval))
        return {}

    async def _update(self, url: str, retrieve: str, retries: int, interval: int) -> None:
        await asyncio.sleep(0)  # the answer first
        await self._until(retrieve)
        await self._notify_firmware("Downloading")
        told_early = self.st.fault("downloaded_before_download")
        if told_early:
            await self._notify_firmware("Downloaded")
            await self.st.sleep(3.0)
        again = (lambda: self._notify_firmware("Downloading")) \
            if self.st.behaves("downloading_per_retry") else None
        data = await self._attempts(f"firmware download {shown(url)}", retries, interval,
                                    lambda: download(url, TRANSFER_TIMEOUT_S), again)
        if data is None:
            if self.st.fault("download_failure_silent"):
                self.firmware_status = "Idle"
                return
            await self._notify_firmware("DownloadFailed")
            return
        if not told_early:
            await self._notify_firmware("Downloaded")
        while any(c.tx is not None for c in self.st.connectors.values()):
            await self.st.sleep(1.0)  # not while a transaction runs
        await self._notify_firmware("Installing")
        try:
            image = parse_image(data)
            version = image.version
        except ImageError as exc:
            if not self.st.fault("image_not_verified"):
                self._note(f"installation failed: {exc}")
                if self.st.behaves("reboots_before_installation_failed"):
                    state = self.st.store.get("firmware", {})
                    self.st.store.put("firmware", {**state,
                                                   "pending_status": "InstallationFailed"})
                    await self.st.reboot()
                    return
                await self._notify_firmware("InstallationFailed")
                return
            version = read_version(data) or "unknown"  # installs it anyway
        await self.st.sleep(self.st.cfg.firmware_install_s)
        early = self.st.behaves("installed_before_reboot")
        self.st.store.put("firmware", {"version": version, "previous": self.version,
                                       **({} if early else {"pending_status": "Installed"})})
        if early:
            await self._notify_firmware("Installed")
        self._note(f"installed {version}; rebooting")
        await self.st.reboot()

    async def _until(self, when: str) -> None:
        try:
            at = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return  # the schema let it through: start now
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        wait = (at - self.st.clock()).total_seconds()
        if wait > 0:
            await self.st.sleep(wait)

    # -- GetDiagnostics ---------------------------------------------------------------------
    async def get_diagnostics(self, p: dict) -> dict:
        stamp = self.st.clock().strftime("%Y%m%dT%H%M%SZ")
        kind = "zip" if self.st.behaves("diagnostics_zip") else "tar.gz"
        name = f"diagnostics-{self.st.cfg.serial_number}-{stamp}.{kind}"
        retries = int(p.get("retries", DEFAULT_RETRIES))
        interval = int(p.get("retryInterval", DEFAULT_RETRY_INTERVAL_S))
        self.st.spawn(self._diagnostics(p["location"], name, retries, interval, p))
        return {"fileName": name}

    async def _diagnostics(self, location: str, name: str, retries: int, interval: int,
                           request: dict) -> None:
        await asyncio.sleep(0)  # the answer first
        data = b"" if self.st.fault("diagnostics_empty") else self._archive(request)
        await self._notify_diagnostics("Uploading")
        done = await self._attempts(f"diagnostics upload to {shown(location)}", retries,
                                    interval, lambda: upload(location, name, data,
                                                             TRANSFER_TIMEOUT_S) or True)
        if done is None and not self.st.fault("upload_failure_reported_uploaded"):
            await self._notify_diagnostics("UploadFailed")
        else:
            await self._notify_diagnostics("Uploaded")
        self.diagnostics_status = "Idle"

    def _archive(self, request: dict) -> bytes:
        """What the station knows about itself, as a tar.gz: status, configuration, history."""
        members = {
            "status.json": json.dumps({"station": self.st.status(),
                                       "firmwareVersion": self.version,
                                       "requested": request}, indent=1, default=str),
            "configuration.json": json.dumps({k.name: k.value for k in self.st.keys.values()},
                                             indent=1),
            "history.log": "\n".join(self.history) + "\n",
        }
        buf = io.BytesIO()
        if self.st.behaves("diagnostics_zip"):
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for member, text in members.items():
                    z.writestr(member, text)
            return buf.getvalue()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for member, text in members.items():
                raw = text.encode("utf-8")
                info = tarfile.TarInfo(member)
                info.size, info.mtime = len(raw), int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(raw))
        return buf.getvalue()

    # -- shared ------------------------------------------------------------------------------
    async def _attempts(self, what: str, retries: int, interval: int,
                        attempt: Callable[[], Any],
                        before_retry: Callable[[], Awaitable[None]] | None = None) -> Any | None:
        """1 + retries tries of a blocking transfer, retryInterval apart; None if all fail."""
        for n in range(1 + max(0, retries)):
            if n and not self.st.fault("retry_without_interval"):
                await self.st.sleep(interval)
                if before_retry is not None:
                    await before_retry()
            try:
                result = await asyncio.to_thread(attempt)
                self._note(f"{what}: done (attempt {n + 1})")
                return result
            except TransferError as exc:
                self._note(f"{what}: attempt {n + 1} failed: {exc}")
        return None

    def _note(self, text: str) -> None:
        log.info("station: %s", text)
        self.history.append(f"{iso_utc(self.st.clock())} {text}")

    async def _notify_firmware(self, status: str) -> None:
        self.firmware_status = status
        self._note(f"FirmwareStatusNotification {status}")
        await self.notify("FirmwareStatusNotification", {"status": status})
        if status in FIRMWARE_DONE:
            self.firmware_status = "Idle"  # the update is over: nothing in progress

    async def _notify_diagnostics(self, status: str) -> None:
        self.diagnostics_status = status
        self._note(f"DiagnosticsStatusNotification {status}")
        await self.notify("DiagnosticsStatusNotification", {"status": status})

    async def notify(self, action: str, payload: dict) -> None:
        """Send a notification once online (at most NOTIFY_ONLINE_S); lost after that."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.st._s(NOTIFY_ONLINE_S)):
                # `online` is derived (link, boot) and has no event of its own: poll it
                while not self.st.online:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                assert self.st.link is not None
                try:
                    await self.st.link.call(action, payload)
                except (LinkDown, CallTimeout, PeerError) as exc:
                    log.warning("station: %s %s not delivered: %s", action, payload, exc)
                return
        log.warning("station: %s %s dropped: offline for %g s", action, payload, NOTIFY_ONLINE_S)

"""What the bench's file servers record: one Transfer per download or upload, and the faults a
case can put on the next transfer (a refused request, a transfer dropped half-way)."""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROTOCOLS = ("HTTP", "HTTPS", "FTP", "FTPS")  # SupportedFileTransferProtocols (OCPP 1.6 §9.4)
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
MAX_NAME = 100


class Direction(enum.StrEnum):
    DOWNLOAD = "download"  # the station fetched a file the bench serves (firmware)
    UPLOAD = "upload"  # the station sent a file to the bench (diagnostics, logs)


class FaultMode(enum.StrEnum):
    REFUSE = "refuse"  # HTTP 404 / FTP 550: the file is not there
    DROP = "drop"  # the connection is closed after `after_bytes` of the transfer


@dataclass(frozen=True, slots=True)
class TransferFault:
    mode: FaultMode
    after_bytes: int = 0  # DROP: bytes that still go through before the cut
    times: int = 1  # how many transfers in a row it breaks (a station retries: every attempt)


@dataclass(slots=True)
class Transfer:
    """One transfer as the server saw it; `complete` is False when it broke off."""

    protocol: str
    direction: Direction
    name: str  # the file name on the bench side (uploads: made safe)
    peer: str
    started_mono_ns: int
    ended_mono_ns: int
    bytes: int
    complete: bool
    sha256: str | None = None  # of what arrived (uploads) or was served (complete downloads)
    detail: str = ""  # why it broke off, or what was refused
    path: str | None = None  # where an upload lies on disk
    requested: str = ""  # the path the station asked for, as data (escaped when shown)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return (self.ended_mono_ns - self.started_mono_ns) / 1e9

    def as_event(self) -> dict[str, Any]:
        """The record event's detail (the file name as `file`: `name` is the event's own)."""
        out = asdict(self)
        out["file"] = out.pop("name")
        out["direction"] = str(self.direction)
        out["seconds"] = round(self.seconds, 6)
        return out


def safe_name(requested: str, fallback: str = "upload.bin") -> str:
    """A file name for something a station named: its last path segment, only [A-Za-z0-9._-],
    never hidden, never empty, at most 100 characters (station text never becomes a path)."""
    last = requested.replace("\\", "/").rsplit("/", 1)[-1]
    name = SAFE_NAME.sub("_", last).lstrip(".")[:MAX_NAME]
    return name or fallback


class FileServiceError(RuntimeError):
    """A file server could not start, or a wait for a transfer ran out (says what it saw)."""


@dataclass(frozen=True, slots=True)
class FilesConfig:
    """Where the servers listen and the address the station reaches them at."""

    host: str = "127.0.0.1"
    advertise: str | None = None  # default: host (must be set when host is 0.0.0.0 / ::)
    tls_cert: Path | None = None  # HTTPS / FTPS
    tls_key: Path | None = None

    @property
    def public_host(self) -> str:
        host = self.advertise or self.host
        if host in ("0.0.0.0", "::", ""):
            raise FileServiceError(f"file servers listen on {self.host!r}: say which address the "
                                   "station reaches them at ([files] advertise)")
        return host

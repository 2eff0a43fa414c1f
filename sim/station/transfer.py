"""File transfers of the simulated station, as a real one does them: the firmware image fetched
from the URL of UpdateFirmware, the diagnostics file sent to the location of GetDiagnostics.
HTTP(S) with urllib, FTP(S) with ftplib (passive mode). Blocking: the station runs them in a
thread. Every failure is a TransferError naming the URL (without its password) and why."""

from __future__ import annotations

import ftplib
import http.client
import io
import ssl
import urllib.request
from urllib.parse import unquote, urlsplit

SCHEMES = ("http", "https", "ftp", "ftps")


TRANSFER_TIMEOUT_S = 30.0  # one download or upload attempt


class TransferError(OSError):
    """A download or upload that did not complete."""


def shown(url: str) -> str:
    """The URL without its password (it is a secret of the bench's FTP server)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _tls_context() -> ssl.SSLContext:
    # the bench's file servers use the lab's own certificate; the simulated station has no
    # trust store for it, so it does not verify (a real station's trust store would)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def download(url: str, timeout_s: float, max_bytes: int = 64 * 1024 * 1024) -> bytes:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        if scheme in ("http", "https"):
            ctx = _tls_context() if scheme == "https" else None
            with urllib.request.urlopen(url, timeout=timeout_s, context=ctx) as res:
                length = res.headers.get("Content-Length")
                if length is not None and int(length) > max_bytes:
                    raise TransferError(f"download {shown(url)}: {length} bytes, more than "
                                        f"{max_bytes}")
                data = res.read()  # IncompleteRead when the server drops it
                if length is not None and len(data) != int(length):
                    raise TransferError(f"download {shown(url)}: {len(data)} of {length} "
                                        "bytes: the transfer broke off")
        elif scheme in ("ftp", "ftps"):
            buf = io.BytesIO()
            with _ftp(parts, timeout_s) as ftp:
                ftp.retrbinary(f"RETR {unquote(parts.path)}", buf.write)
            data = buf.getvalue()
        else:
            raise TransferError(f"{shown(url)}: scheme {scheme!r} not supported "
                                f"(one of {', '.join(SCHEMES)})")
    except TransferError:
        raise
    except (OSError, ftplib.Error, http.client.HTTPException, ValueError, EOFError) as exc:
        raise TransferError(f"download {shown(url)}: {type(exc).__name__}: {exc}") from exc
    if len(data) > max_bytes:
        raise TransferError(f"download {shown(url)}: larger than {max_bytes} bytes")
    return data


def upload(location: str, name: str, data: bytes, timeout_s: float,
           content_type: str = "application/gzip") -> None:
    """`data` as `name` into the directory URL `location`."""
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    try:
        if scheme in ("http", "https"):
            url = location.rstrip("/") + "/" + name
            req = urllib.request.Request(url, data=data, method="PUT",
                                         headers={"Content-Type": content_type})
            ctx = _tls_context() if scheme == "https" else None
            with urllib.request.urlopen(req, timeout=timeout_s, context=ctx) as res:
                res.read()
        elif scheme in ("ftp", "ftps"):
            with _ftp(parts, timeout_s) as ftp:
                folder = unquote(parts.path) or "/"
                ftp.cwd(folder)
                ftp.storbinary(f"STOR {name}", io.BytesIO(data))
        else:
            raise TransferError(f"{shown(location)}: scheme {scheme!r} not supported "
                                f"(one of {', '.join(SCHEMES)})")
    except TransferError:
        raise
    except (OSError, ftplib.Error, http.client.HTTPException, ValueError, EOFError) as exc:
        raise TransferError(f"upload to {shown(location)}: {type(exc).__name__}: {exc}") from exc


def _ftp(parts, timeout_s: float) -> ftplib.FTP:
    tls = parts.scheme.lower() == "ftps"
    ftp = ftplib.FTP_TLS(context=_tls_context(), timeout=timeout_s) if tls \
        else ftplib.FTP(timeout=timeout_s)
    ftp.connect(parts.hostname or "", parts.port or 21)
    ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
    if tls:
        ftp.prot_p()  # type: ignore[attr-defined]
    ftp.set_pasv(True)
    return ftp

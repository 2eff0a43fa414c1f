"""The simulated station's firmware image format: a header naming the version and the SHA-256
of the body, then the body. A station checks the digest before it installs: an image whose
bytes changed (a corrupt image) fails the installation (InstallationFailed).

    SIMFW 1
    version: v8.9.0
    sha256: <hex of the body>
    <empty line>
    <body>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAGIC = b"SIMFW 1\n"


class ImageError(ValueError):
    """An image the station cannot install (the message says why)."""


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    version: str
    body: bytes


def build_image(version: str, body: bytes) -> bytes:
    if not version or "\n" in version or len(version) > 50:
        raise ValueError(f"firmware version {version!r}: 1 to 50 characters, one line "
                         "(BootNotification firmwareVersion is a CiString50)")
    digest = hashlib.sha256(body).hexdigest()
    return MAGIC + f"version: {version}\nsha256: {digest}\n\n".encode() + body


def parse_image(data: bytes) -> FirmwareImage:
    """The image's version and body; ImageError when it is not one or its digest fails."""
    if not data.startswith(MAGIC):
        raise ImageError("not a SIMFW 1 image (no header)")
    head, sep, body = data[len(MAGIC):].partition(b"\n\n")
    if not sep:
        raise ImageError("the header does not end (no empty line)")
    fields: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    version, digest = fields.get("version", ""), fields.get("sha256", "")
    if not version or not digest:
        raise ImageError(f"the header lacks version or sha256 (has {sorted(fields)})")
    actual = hashlib.sha256(body).hexdigest()
    if actual != digest:
        raise ImageError(f"body digest {actual[:16]}... differs from the header's "
                         f"{digest[:16]}...: corrupt image")
    return FirmwareImage(version, body)


def read_version(data: bytes) -> str | None:
    """The version a header names, without checking the digest (fault image_not_verified)."""
    head = data[len(MAGIC):].partition(b"\n\n")[0] if data.startswith(MAGIC) else b""
    for line in head.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "version" and value.strip():
            return value.strip()
    return None

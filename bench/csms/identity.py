"""The charge point identity in the connection URL: which ids the endpoint takes.

OCPP-J 1.6 (§3.1.1) appends the identity to the endpoint URL, percent-encoded; it sets no
length. The bench follows the later edition's limit (OCPP 2.0.1 Part 4 §3.1.1: 48), and
refuses, with HTTP 400 and a reason that is recorded:

- a malformed percent-escape (`%` not followed by two hex digits);
- an identity whose percent-decoded bytes are not UTF-8 (`%FF%FE`): decoding them with
  replacement would give different stations the same `\\ufffd\\ufffd` id;
- a `/` that came percent-encoded (`%2F`): the identity is one path segment;
- any non-printable character: controls (NUL, CR, LF, ESC...), format characters (bidi
  overrides such as U+202E, zero-width characters), line/paragraph separators and non-ASCII
  spaces; the ASCII space is allowed (as `%20`);
- more than 48 characters after decoding.

A request-target with raw non-ASCII bytes never gets here: the websocket library refuses it as
an invalid HTTP request (RFC 3986 requires percent-encoding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

from bench.textsafe import first_unprintable, visible

MAX_IDENTITY_CHARS = 48
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_FILE_SAFE = re.compile(r"[A-Za-z0-9-]")


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """The identity read from a request path, or why the path gives none."""

    identity: str | None
    status: int | None = None  # None: fine; else the HTTP status of the refusal
    reason: str = ""


def wanted_path(prefix: str) -> str:
    return f"/{prefix}/<chargePointId>" if prefix else "/<chargePointId>"


def check_path(path: str, prefix: str) -> IdentityCheck:
    """The identity of `/<prefix>/<id>` (prefix may be empty) under the rules above."""
    # origin-form "/a/b?q" as sent; absolute-form "ws://host/a/b" (RFC 9112 §3.2.2) by urlsplit,
    # which would read an origin-form "//x/a" as host x
    p = path.partition("?")[0].partition("#")[0] if path.startswith("/") else urlsplit(path).path
    head = f"/{prefix}/" if prefix else "/"
    rest = p[len(head):].rstrip("/") if p.startswith(head) else ""
    if not rest or "/" in rest:
        return IdentityCheck(None, 404, f"path {visible(path)!r} is not {wanted_path(prefix)}")
    if _BAD_PERCENT.search(rest):
        return IdentityCheck(None, 400, "charge point identity has a malformed percent-escape "
                             "('%' not followed by two hex digits)")
    raw = unquote_to_bytes(rest)
    try:
        identity = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = raw[e.start:e.end].hex(" ")
        return IdentityCheck(None, 400, "charge point identity is not UTF-8 once percent-decoded "
                             f"(bytes {bad} at offset {e.start})")
    if "/" in identity:
        return IdentityCheck(None, 400, "charge point identity holds a '/' sent as %2F; "
                             "an identity is one path segment")
    bad_char = first_unprintable(identity)
    if bad_char is not None:
        at, shown = bad_char
        return IdentityCheck(None, 400, f"charge point identity holds the non-printable "
                             f"character {shown} at position {at}")
    if len(identity) > MAX_IDENTITY_CHARS:
        return IdentityCheck(None, 400, f"charge point identity has {len(identity)} characters "
                             f"(at most {MAX_IDENTITY_CHARS})")
    return IdentityCheck(identity)


def identity_from_path(path: str, prefix: str) -> str | None:
    """The identity of an acceptable path, else None."""
    return check_path(path, prefix).identity


def file_safe(identity: str) -> str:
    """An injective file-name form of an identity: [A-Za-z0-9-] kept, any other character as
    `_` and six hex digits (so `CP.1` and `CP_1` never share a file)."""
    return "".join(c if _FILE_SAFE.match(c) else f"_{ord(c):06x}" for c in identity)

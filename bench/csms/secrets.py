"""Keeping AuthorizationKeys out of everything the endpoint writes or answers.

A station may put the key where a name belongs (user and password swapped in its Basic header,
the key as its identity). Whatever the endpoint records or sends back about a handshake goes
through `KeyScrubber`, which replaces every spelling of a configured key that a station could
use: the raw bytes (as Latin-1 or UTF-8 text), hex in either case, base64 (standard or
URL-safe, with or without padding) and percent-encoding.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

REDACTED = "«redacted: credential»"


def key_spellings(key: bytes) -> set[str]:
    """Every text form of `key` that the scrubber looks for."""
    forms = {key.hex(), key.hex().upper(), "".join(f"%{b:02X}" for b in key),
             "".join(f"%{b:02x}" for b in key)}
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        text = enc(key).decode("ascii")
        forms |= {text, text.rstrip("=")}
    forms.add(key.decode("latin-1"))
    try:
        forms.add(key.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return {f for f in forms if len(f) >= 8}  # a 16-byte key never spells shorter


class KeyScrubber:
    """Finds and hides the configured keys in text and in nested record details."""

    def __init__(self, keys: Iterable[bytes | None]) -> None:
        self._keys = [k for k in dict.fromkeys(keys) if k]
        # longest first, so a form that contains another is replaced whole
        self._forms = sorted({f for k in self._keys for f in key_spellings(k)}, key=len,
                             reverse=True)

    def holds_key(self, text: str | bytes) -> bool:
        if isinstance(text, bytes):
            if any(k in text for k in self._keys):
                return True
            text = text.decode("latin-1")
        return any(f in text for f in self._forms)

    def text(self, value: str) -> str:
        for form in self._forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value

    def scrub(self, data: Any) -> Any:
        """A copy of `data` (str, dict, list, tuple) with every key spelling replaced."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.scrub(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.scrub(v) for v in data]
        return data

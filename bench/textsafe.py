"""Station-controlled text shown to people: invisible and control characters made visible.

A station chooses its identity, its message ids and every string of its payloads. Shown raw,
ESC sequences repaint a terminal, CR/LF forge console lines, NUL and BEL upset tools and
U+202E reverses the text after it in a browser. `visible()` keeps printable text as it is
and writes every other character as a backslash escape (`\\x1b`, `\\u202e`, `\\ud800` for a
lone surrogate), so what people read is what the station sent, and it always encodes as UTF-8.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def visible(text: str) -> str:
    """`text` with every non-printable character escaped.

    Non-printable is Python's definition: Unicode categories Cc (controls), Cf (format: bidi
    overrides and isolates, zero-width characters, BOM), Cs (lone surrogates), Co, Cn, Zl, Zp
    and every space separator except the ASCII space."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def first_unprintable(text: str) -> tuple[int, str] | None:
    """(index, escaped form) of the first non-printable character of `text`, or None."""
    if text.isprintable():
        return None
    for i, ch in enumerate(text):
        if not ch.isprintable():
            return i, _escape(ch)
    return None  # unreachable: isprintable() was False

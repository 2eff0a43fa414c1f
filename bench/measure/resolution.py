"""The resolution a station writes its timestamps to, read from the text itself.

OCPP-J dateTime values may leave out the fraction of a second. A timestamp written to whole
seconds says nothing finer than its second: whether the station truncates or rounds its clock,
the clock reading behind `12:00:07Z` lies within one second of it. A clock measured from such
a timestamp is known only to within that resolution, and is judged within it.
"""

from __future__ import annotations

import re

# hh:mm, hh:mm:ss, hh:mm:ss.fff (either separator) right after the date's T
_TIME = re.compile(r"[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,](\d+))?)?")


def timestamp_resolution_s(text: object) -> float | None:
    """1.0 for `2026-11-23T21:00:07Z`, 0.001 for `...T21:00:07.120Z` (the digits written, trailing
    zeros included), 60.0 for `...T21:00Z`; None when the text holds no time of day."""
    if not isinstance(text, str):
        return None
    m = _TIME.search(text)
    if m is None:
        return None
    if m.group(1) is not None:
        return 10.0 ** -len(m.group(1))
    return 1.0 if m.group(0).count(":") == 2 else 60.0

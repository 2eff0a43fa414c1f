"""Station timestamps against the station's declaration ([pics] sends_milliseconds).

OCPP-J lets a sender leave out fractions of seconds, so whole seconds are no fault in
themselves; but a station whose PICS declares "supports sending milliseconds in timestamps"
is judged by that declaration. Every station message a case examines (testplans.ocpp.expect,
collect_for) is checked; an undeclared value checks nothing.
"""

from __future__ import annotations

import re
from typing import Any

from bench.plugin import Case

# an RFC 3339 time with a fraction: ...T12:00:00.123Z or +02:00
_FRACTION = re.compile(r"T\d{2}:\d{2}:\d{2}\.\d+")


def timestamps(payload: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, text) of every `timestamp` field in the payload, nested ones included."""
    found: list[tuple[str, str]] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            where = f"{path}.{key}" if path else key
            if key == "timestamp" and isinstance(value, str):
                found.append((where, value))
            else:
                found.extend(timestamps(value, where))
    elif isinstance(payload, list):
        for i, item in enumerate(payload):
            found.extend(timestamps(item, f"{path}[{i}]"))
    return found


def whole_second_timestamps(payload: Any) -> list[tuple[str, str]]:
    """The timestamps that carry no fraction of a second."""
    return [(w, t) for w, t in timestamps(payload) if not _FRACTION.search(t)]


def check_declared_milliseconds(case: Case, msg: Any) -> None:
    """With [pics] sends_milliseconds = true, every timestamp of msg has milliseconds."""
    if case.ctx.settings.get("sends_milliseconds") is not True:
        return
    bad = whole_second_timestamps(msg.payload)
    where, text = bad[0] if bad else ("", "")
    case.check(not bad, "timestamps with milliseconds (the PICS declares it: [pics] "
               "sends_milliseconds = true)",
               f"sent {msg.action}.{where} = {text!r} in whole seconds (seq {msg.seq})",
               quiet=True)

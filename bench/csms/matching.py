"""Subset matching of payloads (for expect and forbid) and short payload descriptions."""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from typing import Any

from bench.textsafe import visible


class PredicateError(Exception):
    """A predicate of a match pattern raised: a bug of the bench (the case is an ERROR with
    this traceback), never a message the station did not send."""

    def __init__(self, key: str, predicate: Any, payload_value: Any, exc: Exception) -> None:
        name = getattr(predicate, "__name__", "predicate")
        super().__init__(f"match predicate {name}() on field {key!r} raised "
                         f"{type(exc).__name__}: {exc} (value {short_payload(payload_value, 80)})")
        self.traceback = "".join(traceback.format_exception(exc))


# Fields that hold an IdToken: a CiString20, compared without regard to case (OCPP 1.6 §2.2)
ID_TOKEN_FIELDS = frozenset({"idTag", "parentIdTag"})


def matches(payload: Any, pattern: Mapping[str, Any] | None) -> bool:
    """True when every key of `pattern` is in `payload` with a matching value.

    Nested dicts match as subsets; a callable value is a predicate on the field (a missing
    field never matches); lists must be equal; an idTag or parentIdTag matches in any case.
    A predicate that raises raises PredicateError.
    """
    if not pattern:
        return True
    if not isinstance(payload, Mapping):
        return False
    for key, want in pattern.items():
        if key not in payload:
            return False
        have = payload[key]
        if callable(want):
            try:
                ok = want(have)
            except Exception as exc:
                raise PredicateError(key, want, have, exc) from exc
            if not ok:
                return False
        elif isinstance(want, Mapping):
            if not matches(have, want):
                return False
        elif key in ID_TOKEN_FIELDS and isinstance(want, str) and isinstance(have, str):
            if have.lower() != want.lower():
                return False
        elif have != want:
            return False
    return True


def describe_pattern(pattern: Mapping[str, Any] | None) -> str:
    if not pattern:
        return "any payload"
    parts = []
    for k, v in pattern.items():
        shown = getattr(v, "__name__", "predicate") + "(...)" if callable(v) else repr(v)
        parts.append(f"{k}={shown}")
    return ", ".join(parts)


def short_payload(payload: Any, limit: int = 120) -> str:
    """A payload for error messages: short, and with station control characters escaped."""
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(payload).__name__}>"
    return visible(text if len(text) <= limit else text[: limit - 3] + "...")

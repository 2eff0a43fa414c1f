"""Subset matching of payloads (for expect and forbid) and short payload descriptions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bench.textsafe import visible


def matches(payload: Any, pattern: Mapping[str, Any] | None) -> bool:
    """True when every key of `pattern` is in `payload` with a matching value.

    Nested dicts match as subsets; a callable value is a predicate on the field (a missing
    field never matches); lists must be equal.
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
                if not want(have):
                    return False
            except Exception:
                return False
        elif isinstance(want, Mapping):
            if not matches(have, want):
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

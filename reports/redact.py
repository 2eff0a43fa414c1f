"""Defensive secret removal: the record is already redacted, the report must not rely on it."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "«redacted»"
# Basic-auth keys and headers, passwords, TLS private keys: never shown, whatever their nesting.
_SECRET_KEY = re.compile(
    r"^(authorization(_?key.*)?|proxy-authorization|password|passwd|secret.*|.*_secret|"
    r"private_?key|tls_key|api_?key|token)$",
    re.IGNORECASE,
)
# ChangeConfiguration/GetConfiguration keys whose value is a secret (OCPP 1.6 security).
SECRET_CONFIG_KEYS = {"authorizationkey"}
_BASIC = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{4,}", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.match(str(key)))


def redact(data: Any) -> Any:
    """A copy of data with secret-looking fields replaced and credentials in strings masked."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if is_secret_key(k):
                out[k] = REDACTED
            elif (str(k).lower() == "value" and isinstance(data.get("key"), str)
                  and data["key"].lower() in SECRET_CONFIG_KEYS):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(data, list):
        return [redact(v) for v in data]
    if isinstance(data, str):
        return redact_text(data)
    return data


def redact_text(text: str) -> str:
    """Mask `Basic xxx` credentials inside free text (logs, handshake lines, messages)."""
    if "asic" not in text and "earer" not in text:  # fast path for the hot frame loop
        return text
    return _BASIC.sub(lambda m: f"{m.group(1)} {REDACTED}", text)

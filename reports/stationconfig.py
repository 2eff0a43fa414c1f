"""The station's OCPP configuration: keys at start, at end, and the changes the bench asked for.

In the certificate's form: every standard key of OCPP 1.6 in the certificate's order, "Not
Applicable - NA" for one the station does not report, then the other keys it reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.configkeys import STANDARD_KEYS, STANDARD_ORDER
from reports.frames import CALL, FrameIndex, payload_of
from reports.redact import REDACTED, SECRET_CONFIG_KEYS


@dataclass
class ConfigKey:
    key: str
    value: str | None
    readonly: bool | None
    end_value: str | None = None
    in_end: bool = False
    changes: list[str] = field(default_factory=list)  # "value → status (case, seq)"
    reported: bool = True  # False: a standard key the station did not report (NA)
    profile: str = ""  # the feature profile of a standard key, "" for any other key

    @property
    def changed(self) -> bool:
        return (self.in_end and self.end_value != self.value) or bool(self.changes)


def _keys(snapshot: Any) -> dict[str, dict[str, Any]]:
    """{key: item} from a GetConfiguration snapshot (a list, or the whole conf payload)."""
    if isinstance(snapshot, dict):
        snapshot = snapshot.get("configurationKey", [])
    out = {}
    for item in snapshot or []:
        if isinstance(item, dict) and "key" in item:
            out[str(item["key"])] = item
    return out


def _value(key: str, item: dict[str, Any]) -> str | None:
    if key.lower() in SECRET_CONFIG_KEYS:
        return REDACTED
    v = item.get("value")
    return None if v is None else str(v)


def config_table(start: Any, end: Any, index: FrameIndex) -> list[ConfigKey]:
    start_keys, end_keys = _keys(start), _keys(end)
    rows: dict[str, ConfigKey] = {}
    for k, item in start_keys.items():
        ro = item.get("readonly")
        rows[k] = ConfigKey(k, _value(k, item), ro if isinstance(ro, bool) else None)
    for k, item in end_keys.items():
        row = rows.setdefault(k, ConfigKey(k, None, item.get("readonly")))
        row.end_value, row.in_end = _value(k, item), True
    for f in index.frames:
        if f.get("action") != "ChangeConfiguration" or f.get("msg_type") != CALL:
            continue
        payload = payload_of(f) or {}
        key = str(payload.get("key", "?"))
        value = REDACTED if key.lower() in SECRET_CONFIG_KEYS else str(payload.get("value"))
        answer = index.answer_of.get(f["seq"])
        if answer is None:
            status = "no answer"
        elif answer.get("msg_type") == CALL + 2:
            status = "CALLERROR"
        else:
            status = str((payload_of(answer) or {}).get("status", "?"))
        row = rows.setdefault(key, ConfigKey(key, None, None, reported=False))
        row.changes.append(f"{value} → {status} ({f.get('case') or 'no case'}, frame {f['seq']})")
    return certificate_order(rows)


def certificate_order(rows: dict[str, ConfigKey]) -> list[ConfigKey]:
    """Standard keys first (NA rows for the missing ones), then the others by name.
    Keys are matched without regard to case, as stations differ in how they spell them.
    Nothing recorded gives no rows (the report says the configuration was not recorded)."""
    if not rows:
        return []
    by_lower = {k.lower(): row for k, row in rows.items()}
    standard = []
    for key, profile in STANDARD_KEYS:
        row = by_lower.get(key.lower()) or ConfigKey(key, None, None, reported=False)
        row.profile = profile
        standard.append(row)
    known = {k.lower() for k in STANDARD_ORDER}
    others = sorted((r for r in rows.values() if r.key.lower() not in known),
                    key=lambda r: r.key.lower())
    return standard + others

"""The station's OCPP configuration: keys at start, at end, and the changes the bench asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        row = rows.setdefault(key, ConfigKey(key, None, None))
        row.changes.append(f"{value} → {status} ({f.get('case') or 'no case'}, frame {f['seq']})")
    return sorted(rows.values(), key=lambda r: r.key.lower())

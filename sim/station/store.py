"""Non-volatile memory of the station: what survives reboots and power loss.

A JSON file (written atomically) or, with path None, a dict that lives as long as the
object (the rig keeps the object across simulated power cycles).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class PersistentStore:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._data: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"station store {self.path}: unreadable: {exc}") from exc

    def get(self, name: str, default: Any = None) -> Any:
        value = self._data.get(name, default)
        return json.loads(json.dumps(value))  # a copy: callers must write back with put

    def put(self, name: str, value: Any) -> None:
        self._data[name] = json.loads(json.dumps(value))
        self._flush()

    def delete(self, name: str) -> None:
        if self._data.pop(name, None) is not None:
            self._flush()

    def _flush(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

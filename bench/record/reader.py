"""Load a run directory, complete or cut off, into plain records and pandas DataFrames."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.record.writer import FILES, RAW_BASE64, RAW_UNICODE_ESCAPE


def frame_raw(row: dict[str, Any]) -> str | bytes:
    """The frame exactly as it crossed the socket: its text, or the bytes of a binary frame.

    frames.jsonl keeps `raw` as is when it is UTF-8 text; otherwise `raw_encoding` says how it
    was stored (bench.record.writer.encode_raw). A value that does not decode is returned as
    stored, so a damaged line still shows what it holds."""
    raw = row.get("raw", "")
    encoding = row.get("raw_encoding")
    if encoding is None or not isinstance(raw, str):
        return raw if isinstance(raw, str) else str(raw)
    try:
        if encoding == RAW_BASE64:
            return base64.b64decode(raw, validate=True)
        if encoding == RAW_UNICODE_ESCAPE:
            return raw.encode("ascii").decode("unicode_escape")
    except (binascii.Error, ValueError):
        pass
    return raw


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Lines of a JSONL file; a torn last line (process killed mid-write) is dropped and counted."""
    rows: list[dict[str, Any]] = []
    torn = 0
    if not path.exists():
        return rows, torn
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                torn += 1
    return rows, torn


@dataclass
class RunData:
    path: Path
    meta: dict[str, Any]
    frames: list[dict[str, Any]]
    events: list[dict[str, Any]]
    measurements: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    snapshots: dict[str, Any] = field(default_factory=dict)
    torn_lines: int = 0

    @property
    def partial(self) -> bool:
        """Cut off: never closed (crash, kill) or closed as interrupted."""
        return self.meta.get("status") != "complete"

    def df(self, kind: str) -> pd.DataFrame:
        return pd.DataFrame(getattr(self, kind))


def load_run(path: Path | str) -> RunData:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"run directory not found: {path}")
    meta_path = path / "run.json"
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
        except json.JSONDecodeError:
            meta = {"status": "unreadable run.json"}
    data: dict[str, list[dict[str, Any]]] = {}
    torn = 0
    for name in FILES:
        rows, t = read_jsonl(path / f"{name}.jsonl")
        data[name] = rows
        torn += t
    snapshots: dict[str, Any] = {}
    snap_dir = path / "snapshots"
    if snap_dir.is_dir():
        for p in sorted(snap_dir.glob("*.json")):
            try:
                snapshots[p.stem] = json.loads(p.read_text("utf-8"))
            except json.JSONDecodeError:
                snapshots[p.stem] = None
    return RunData(path=path, meta=meta, snapshots=snapshots, torn_lines=torn, **data)

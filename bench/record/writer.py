"""Append-only writer of a run directory.

Layout (see README "Run directory"):
  run.json            meta: id, bench version, git revision, rig, plan, started/ended, status
  frames.jsonl        every OCPP frame, both directions
  events.jsonl        physical actions, instrument readings, connections, findings, safe state
  measurements.jsonl  measurements with statistics, limits and outcome
  verdicts.jsonl      one line per case attempt
  snapshots/*.json    rig (secrets removed), PICS, station configuration, instruments

Every line carries a run-wide sequence number `seq`, the monotonic stamp `mono_ns` and `utc`,
the case it belongs to and, within a case, its `attempt` (a resumed or repeated case runs
again: each line says which run of it it belongs to). Lines are flushed as written so a
killed process leaves a readable record up to the last line. Nothing is dropped silently: a
line written after close and a listener that raised are counted in run.json (`record_health`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bench import __version__
from bench.record.model import FrameRecord, VerdictRecord

FILES = ("frames", "events", "measurements", "verdicts")

# How frames.jsonl stores a `raw` that is not plain UTF-8 text, named in "raw_encoding"
# (absent: `raw` is the frame's text as is). bench.record.reader.frame_raw undoes both.
RAW_BASE64 = "base64"  # a binary frame: its bytes, base64
# text holding lone surrogates (no UTF-8 form): Python's unicode_escape codec, which escapes
# the backslash, controls and every non-ASCII code point, so the stored form is ASCII
RAW_UNICODE_ESCAPE = "unicode_escape"


def _utf8_encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_raw(raw: str | bytes) -> tuple[str, str | None]:
    """(stored form, raw_encoding) of a frame's raw text or bytes; any input round-trips."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(raw)).decode("ascii"), RAW_BASE64
    if _utf8_encodable(raw):
        return raw, None
    return raw.encode("unicode_escape").decode("ascii"), RAW_UNICODE_ESCAPE


def _encodable(node: Any) -> Any:
    """A copy of a record line whose strings all have a UTF-8 form: lone surrogates in names,
    ids and messages become backslash escapes (the lossless copy of a frame is `raw`)."""
    if isinstance(node, str):
        return node if _utf8_encodable(node) else node.encode("utf-8", "backslashreplace").decode()
    if isinstance(node, dict):
        return {_encodable(str(k)): _encodable(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_encodable(v) for v in node]
    if node is None or isinstance(node, (bool, int, float)):
        return node
    return _encodable(str(node))  # what json.dumps(default=str) would write


def json_text(data: Any, indent: int | None = None) -> str:
    """JSON of a record line or snapshot that always encodes as UTF-8; never raises.

    Data that cannot be serialised at all (nested too deep, circular) becomes a note saying
    why, so a line and its seq number are never lost."""
    try:
        text = json.dumps(data, ensure_ascii=False, default=str, indent=indent)
        if _utf8_encodable(text):
            return text
        return json.dumps(_encodable(data), ensure_ascii=False, indent=indent)
    except (TypeError, ValueError, RecursionError) as e:
        keep = {k: data[k] for k in ("seq", "mono_ns", "utc", "case", "kind", "name", "station",
                                     "direction") if isinstance(data, dict) and k in data}
        keep["record_error"] = f"not serialisable: {e!r}"[:300]
        return json.dumps(_encodable(keep), ensure_ascii=False, default=str, indent=indent)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_run_dir(runs_dir: Path, label: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    safe_label = "".join(c if c.isalnum() or c in "-_" else "-" for c in label) or "run"
    base = Path(runs_dir) / f"{stamp}-{safe_label}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunRecord:
    """The single source of truth of a run; thread-safe (instrument threads write too)."""

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "snapshots").mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._seq = 0
        self._files: dict[str, TextIO] = {name: self._open_append(name) for name in FILES}
        self.current_case: str | None = None
        self.current_attempt: int | None = None  # the attempt of current_case
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.lines_after_close = 0
        self.listener_errors: list[str] = []  # first few, as "listener: ExcType: text"
        self.listener_error_count = 0
        self.meta: dict[str, Any] = {
            "id": self.path.name,
            "bench_version": __version__,
            "git_revision": git_revision(),
            "host": socket.gethostname(),  # where the run ran (bench history indexes by it)
            "started_utc": utc_now(),
            "started_mono_ns": time.monotonic_ns(),
            "ended_utc": None,
            "status": "running",
            **(meta or {}),
        }
        self._write_meta()

    @classmethod
    def create(cls, runs_dir: Path | str, label: str, **meta: Any) -> RunRecord:
        return cls(new_run_dir(Path(runs_dir), label), meta)

    def _open_append(self, name: str) -> TextIO:
        """Open for appending; a line torn by a killed process is ended first, so the next
        line is not glued to it (the reader then drops only the torn one)."""
        target = self.path / f"{name}.jsonl"
        torn = False
        if target.exists() and target.stat().st_size:
            with open(target, "rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
        f = open(target, "a", encoding="utf-8")  # closed by close()
        if torn:
            f.write("\n")
        return f

    @classmethod
    def reopen(cls, path: Path | str) -> RunRecord:
        """Append to an existing run (bench run --resume): meta kept, sequence numbers go on."""
        path = Path(path)
        meta = json.loads((path / "run.json").read_text("utf-8"))
        rec = cls(path, meta)
        last = 0
        for name in FILES:
            if not (path / f"{name}.jsonl").exists():
                continue
            with open(path / f"{name}.jsonl", encoding="utf-8") as f:
                for line in f:
                    try:
                        last = max(last, int(json.loads(line).get("seq") or 0))
                    except (json.JSONDecodeError, ValueError, AttributeError):
                        continue  # a torn last line of a killed run
        rec._seq = last
        health = meta.get("record_health") or {}  # the earlier sessions' counts go on
        rec.lines_after_close = int(health.get("lines_after_close") or 0)
        rec.listener_error_count = int(health.get("listener_errors") or 0)
        rec.listener_errors = list(health.get("first_listener_errors") or [])
        return rec

    # -- listeners (live console, pytest plugin) -------------------------------------------
    def subscribe(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call listener(kind, line) after each line is written ("frames", "events", ...)."""
        self._listeners.append(listener)

    # -- appenders -------------------------------------------------------------------------
    def _append(self, kind: str, line: dict[str, Any], mono_ns: int | None = None) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
            case = line.pop("case", self.current_case)
            attempt = line.pop("attempt", None)
            if attempt is None and case is not None and case == self.current_case:
                attempt = self.current_attempt
            full = {
                "seq": seq,
                "mono_ns": mono_ns if mono_ns is not None else time.monotonic_ns(),
                "utc": utc_now(),
                "case": case,
                **({"attempt": attempt} if attempt is not None else {}),
                **line,
            }
            f = self._files[kind]
            if f.closed:
                self.lines_after_close += 1
                late = True
            else:
                late = False
                f.write(json_text(full) + "\n")
                f.flush()
        if late:  # counted where a reader looks first (the record itself is closed)
            self.meta["record_health"] = self.health()
            self._write_meta()
            return seq
        for listener in self._listeners:
            try:
                listener(kind, full)
            except Exception as exc:  # a broken console must never cost a record line
                self.listener_error_count += 1
                if len(self.listener_errors) < 5:
                    name = getattr(listener, "__qualname__", type(listener).__name__)
                    self.listener_errors.append(f"{name}: {type(exc).__name__}: {exc}")
        return seq

    def health(self) -> dict[str, Any]:
        """What the record could not take: lines after close, listeners that raised."""
        return {"lines_after_close": self.lines_after_close,
                "listener_errors": self.listener_error_count,
                "first_listener_errors": list(self.listener_errors)}

    def frame(self, rec: FrameRecord, case: str | None = None) -> int:
        line = {
            "case": case if case is not None else self.current_case,
            "station": rec.station,
            "direction": str(rec.direction),
            "msg_type": rec.msg_type,
            "msg_id": rec.msg_id,
            "action": rec.action,
            "schema": rec.schema,
        }
        line["raw"], raw_encoding = encode_raw(rec.raw)
        if raw_encoding is not None:
            line["raw_encoding"] = raw_encoding
        if rec.note:
            line["note"] = rec.note
        return self._append("frames", line, rec.mono_ns)

    def event(self, kind: str, name: str, mono_ns: int | None = None, **detail: Any) -> int:
        """kind: verb, instrument, connection, handshake, finding, safe_state, step, log."""
        return self._append("events", {"kind": kind, "name": name, "detail": detail}, mono_ns)

    def measurement(self, data: dict[str, Any]) -> int:
        return self._append("measurements", dict(data))

    def verdict(self, v: VerdictRecord) -> int:
        return self._append("verdicts", v.as_dict())

    def snapshot(self, name: str, data: Any) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        target = self.path / "snapshots" / f"{safe}.json"
        tmp = target.with_suffix(".tmp")
        text = json_text(data, indent=2)  # never raises: no empty temp file left behind
        try:
            tmp.write_text(text, "utf-8")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def update_meta(self, **fields: Any) -> None:
        self.meta.update(fields)
        self._write_meta()

    def _write_meta(self) -> None:
        tmp = self.path / "run.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=2, default=str), "utf-8")
        os.replace(tmp, self.path / "run.json")

    def sync(self) -> None:
        """fsync every file: called at case boundaries, not per frame (hot path)."""
        with self._lock:
            for f in self._files.values():
                if not f.closed:
                    f.flush()
                    os.fsync(f.fileno())

    def close(self, status: str = "complete") -> None:
        self.update_meta(ended_utc=utc_now(), status=status, record_health=self.health())
        with self._lock:
            for f in self._files.values():
                if not f.closed:
                    f.flush()
                    f.close()

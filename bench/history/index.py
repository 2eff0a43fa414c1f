"""Bring the history index up to date with the run directories (they stay the truth).

A run directory is read again when its fingerprint changed (a run that was still writing, a
resumed one, a rebuilt report does not count: only the record files do); one that disappeared
from a scanned folder of this host is forgotten. Other hosts' runs in a shared index are left
alone.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from bench.history.scan import IndexedRun, RunReadError, fingerprint, is_run_dir, read_run, run_key
from bench.history.store import HistoryStore


@dataclass
class SyncReport:
    scanned: int = 0
    read: int = 0
    unchanged: int = 0
    forgotten: int = 0
    unreadable: list[str] = field(default_factory=list)  # "path: why"

    def describe(self) -> str:
        text = (f"{self.scanned} run directories: {self.read} read, {self.unchanged} unchanged, "
                f"{self.forgotten} forgotten")
        if self.unreadable:
            text += f", {len(self.unreadable)} unreadable"
        return text


def run_dirs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"runs directory not found: {runs_dir}")
    return sorted(p for p in runs_dir.iterdir() if is_run_dir(p))


def sync(store: HistoryStore, runs_dirs: list[Path], rebuild: bool = False,
         host: str | None = None) -> SyncReport:
    host = host or socket.gethostname()
    known = store.fingerprints(host)
    report = SyncReport()
    seen: set[str] = set()
    fresh: list[IndexedRun] = []
    for folder in runs_dirs:
        for run_dir in run_dirs(folder):
            report.scanned += 1
            key = run_key(host, run_dir)
            seen.add(key)
            if not rebuild and known.get(key) == fingerprint(run_dir):
                report.unchanged += 1
                continue
            try:
                fresh.append(read_run(run_dir, host))
            except (RunReadError, OSError) as exc:
                report.unreadable.append(f"{run_dir}: {exc}")
    prefixes = tuple(str(Path(f).resolve()) + os.sep for f in runs_dirs)
    gone = [k for k in known if k not in seen and k.split(":", 1)[1].startswith(prefixes)]
    store.write(fresh, gone)
    report.read, report.forgotten = len(fresh), len(gone)
    return report

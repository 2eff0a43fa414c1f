"""Live progress on the terminal: one line per case start, step and verdict, with the time
since the run and the case started. Plain lines, so CI logs read as well as a terminal."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, out: TextIO | None = None) -> None:
        # a copy of the terminal's stdout: pytest captures fd 1 while a case runs
        self.out = out or os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8",
                                    errors="replace", closefd=True)
        self.run_start = time.monotonic()
        self.case_start = self.run_start
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, case: str, step: str) -> None:
        now = time.monotonic()
        if step.startswith("start"):
            self.case_start = now
        verdict = step.split(":", 1)[0]
        if verdict in ("PASS", "FAIL", "ERROR", "N/A", "BLOCKED"):
            self.counts[verdict] = self.counts.get(verdict, 0) + 1
        line = (f"[{_clock(now - self.run_start)}] {case:<12} +{now - self.case_start:6.1f}s "
                f"{step}")
        with self._lock:
            print(line, file=self.out, flush=True)

    def note(self, text: str) -> None:
        with self._lock:
            print(f"[{_clock(time.monotonic() - self.run_start)}] {text}", file=self.out,
                  flush=True)

    def summary(self) -> str:
        order = ("PASS", "FAIL", "ERROR", "BLOCKED", "N/A")
        return ", ".join(f"{self.counts[k]} {k}" for k in order if self.counts.get(k))


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"

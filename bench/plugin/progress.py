"""Live progress on the terminal: one line per case start, step and verdict, with the time
since the run and the case started. Plain lines, so CI logs read as well as a terminal.

For long runs (a lab campaign takes hours, one case minutes):
- each case start says which case of how many it is and, when earlier runs of the same rig
  and plan left durations (bench.plugin.eta), about how long the rest will take;
- a wait that may last longer than LONG_WAIT_S reports itself (`waiting(what, seconds)`):
  once it has lasted SHOW_AFTER_S a line says what it waits for and how long it will wait
  at most, and every REMIND_EVERY_S a line says how long it has waited so far;
- a case silent for QUIET_CASE_S (no step, no announced wait) gets a line naming its step.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from bench.plugin.eta import CaseDurations

LONG_WAIT_S = 5.0  # waits with a shorter deadline end before anyone wonders
SHOW_AFTER_S = 3.0  # a long wait is shown once it has lasted this long
REMIND_EVERY_S = 30.0
QUIET_CASE_S = 60.0
TICK_S = 0.5


@dataclass
class _Wait:
    case: str | None
    what: str
    seconds: float
    started: float
    shown_at: float | None = None


class Progress:
    def __init__(self, out: TextIO | None = None,
                 write: Callable[[str], None] | None = None,
                 line_start: Callable[[], bool] | None = None) -> None:
        """out: where lines go (default: a copy of the terminal's stdout); write: a function
        taking each line instead; line_start: False when another writer (pytest's terminal)
        left its line open: the next line starts on a line of its own."""
        # a copy of the terminal's stdout: pytest captures fd 1 while a case runs
        self.out = out if out is not None or write is not None else os.fdopen(
            os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace", closefd=True)
        self._write = write
        self._line_start = line_start
        self.run_start = time.monotonic()
        self.case_start = self.run_start
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.items: list[str] = []  # the case of every test item, in run order
        self.durations: CaseDurations | None = None
        self.position = 0  # the item running now (1-based); 0: none yet
        self.current_case: str | None = None
        self.current_step: str | None = None
        self._last_line = self.run_start
        self._waits: list[_Wait] = []
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the plan of the run ---------------------------------------------------------------
    def set_items(self, cases: list[str], durations: CaseDurations | None = None) -> None:
        """The case of every item to run, in order (a repeated case once per repetition),
        and the durations of earlier runs of the same rig and plan."""
        self.items = list(cases)
        self.durations = durations if durations is not None and durations.runs else None
        self.position = 0

    def eta(self) -> str:
        """About how long the rest of the run takes (from the case now starting on)."""
        if self.durations is None or not self.items:
            return ""
        rest = self.items[max(0, self.position - 1):]
        seconds, unknown = self.durations.estimate(rest)
        if not seconds and unknown:
            return ""
        text = f"about {_span(seconds)} left"
        if unknown:
            text += f" + {unknown} case(s) never timed on this rig"
        return text

    # -- lines -----------------------------------------------------------------------------
    def __call__(self, case: str, step: str) -> None:
        now = time.monotonic()
        suffix = ""
        if step.startswith("start"):
            self.case_start = now
            self.current_case, self.current_step = case, None
            if self.items:
                self.position = min(self.position + 1, len(self.items))
                where = [f"case {self.position} of {len(self.items)}"]
                if eta := self.eta():
                    where.append(eta)
                suffix = f" ({'; '.join(where)})"
        verdict = step.split(":", 1)[0]
        if verdict in ("PASS", "FAIL", "ERROR", "N/A", "BLOCKED"):
            self.counts[verdict] = self.counts.get(verdict, 0) + 1
            self.current_case = self.current_step = None
        elif not step.startswith("start"):
            self.current_step = step
        self._line(f"[{_clock(now - self.run_start)}] {case:<12} +{now - self.case_start:6.1f}s "
                   f"{step}{suffix}", now)

    def note(self, text: str) -> None:
        now = time.monotonic()
        self._line(f"[{_clock(now - self.run_start)}] {text}", now)

    def _line(self, line: str, now: float) -> None:
        with self._lock:
            self._last_line = now
            if self._write is not None:
                self._write(line)
                return
            if self._line_start is not None and not self._line_start():
                line = "\n" + line
            print(line, file=self.out, flush=True)

    def summary(self) -> str:
        order = ("PASS", "FAIL", "ERROR", "BLOCKED", "N/A")
        return ", ".join(f"{self.counts[k]} {k}" for k in order if self.counts.get(k))

    # -- long waits ------------------------------------------------------------------------
    @contextlib.contextmanager
    def waiting(self, what: str, seconds: float, case: str | None = None) -> Iterator[None]:
        """A wait of at most `seconds` for `what`: shown while it lasts, if it lasts."""
        if seconds < LONG_WAIT_S:
            yield
            return
        wait = _Wait(case if case is not None else self.current_case, what, float(seconds),
                     time.monotonic())
        with self._lock:
            self._waits.append(wait)
        self._start_ticker()
        try:
            yield
        finally:
            with self._lock:
                if wait in self._waits:
                    self._waits.remove(wait)

    def _start_ticker(self) -> None:
        with self._lock:
            if self._ticker is not None or self._stop.is_set():
                return
            self._ticker = threading.Thread(target=self._tick, name="bench-progress",
                                            daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            self.check_waits(time.monotonic())

    def check_waits(self, now: float) -> None:
        """Show the innermost long wait once it lasted SHOW_AFTER_S, remind every
        REMIND_EVERY_S; name the step of a case silent for QUIET_CASE_S."""
        with self._lock:
            wait = self._waits[-1] if self._waits else None
            quiet = now - self._last_line
        if wait is not None:
            waited = now - wait.started
            if wait.shown_at is None and waited >= SHOW_AFTER_S:
                wait.shown_at = now
                self._wait_line(wait, now, f"waiting up to {wait.seconds:.0f} s for "
                                           f"{wait.what}; {waited:.0f} s so far")
            elif wait.shown_at is not None and now - wait.shown_at >= REMIND_EVERY_S:
                wait.shown_at = now
                self._wait_line(wait, now, f"still waiting for {wait.what}: {waited:.0f} s of "
                                           f"{wait.seconds:.0f} s")
        elif self.current_case is not None and quiet >= QUIET_CASE_S:
            self._wait_line(None, now, f"still in step '{self.current_step}'"
                            if self.current_step else "still running")

    def _wait_line(self, wait: _Wait | None, now: float, text: str) -> None:
        case = (wait.case if wait else None) or self.current_case
        if case:
            self._line(f"[{_clock(now - self.run_start)}] {case:<12} +{now - self.case_start:6.1f}s"
                       f"   {text}", now)
        else:
            self.note(text)

    def close(self) -> None:
        self._stop.set()
        ticker = self._ticker
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(2)


def waiting(progress: object, what: str, seconds: float,
            case: str | None = None) -> contextlib.AbstractContextManager[None]:
    """progress.waiting(...) when the run shows progress, else nothing (tests, tools)."""
    fn = getattr(progress, "waiting", None)
    return fn(what, seconds, case) if fn is not None else contextlib.nullcontext()


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"

"""Log lines of the libraries (pymodbus, pyvisa, websockets, ...) go to the run record, not the
console: a pymodbus "Failed to connect ... Repeating...." on the terminal says less than the
bench's own error, which names the instrument and its address, and it breaks the progress.

While a run is on, a handler on the root logger writes every record at WARNING or above as an
event `log` `library` (logger, level, message); Python's last-resort console handler stays
silent because a handler exists. Bounded: after MAX_LINES the rest is counted, and the count
is written when the handler is removed (nothing is dropped silently).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

MAX_LINES = 2000  # a library retrying in a loop must not fill the record
LEVEL = logging.WARNING


class RecordLogHandler(logging.Handler):
    def __init__(self, record: Any, max_lines: int | None = None) -> None:
        super().__init__(LEVEL)
        self.record = record
        self.max_lines = MAX_LINES if max_lines is None else max_lines
        self.written = 0
        self.dropped = 0
        self._inside = threading.local()  # writing the event must not log into itself

    def emit(self, lr: logging.LogRecord) -> None:
        if getattr(self._inside, "busy", False):
            return
        self._inside.busy = True
        try:
            if self.written >= self.max_lines:
                self.dropped += 1
                return
            self.written += 1
            text = lr.getMessage()
            if lr.exc_info and lr.exc_info[1] is not None:
                text += f" ({type(lr.exc_info[1]).__name__}: {lr.exc_info[1]})"
            self.record.event("log", "library", logger=lr.name, level=lr.levelname,
                              message=text, where=f"{lr.module}:{lr.lineno}")
        except Exception:  # a closed record: the console must stay quiet all the same
            self.dropped += 1
        finally:
            self._inside.busy = False


@contextlib.contextmanager
def library_logs_to_record(record: Any) -> Iterator[RecordLogHandler]:
    """Route log records of every logger to `record` while the block runs."""
    root = logging.getLogger()
    handler = RecordLogHandler(record)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        if handler.dropped:
            with contextlib.suppress(Exception):
                record.event("log", "library-lines-dropped", count=handler.dropped,
                             kept=handler.written)

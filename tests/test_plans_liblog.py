"""Library log lines go to the run record while a run is on, not to the console; bounded, and
what was let go is counted."""

from __future__ import annotations

import logging

from bench.plugin import liblog
from bench.plugin.liblog import library_logs_to_record
from bench.record import RunRecord
from bench.record.reader import load_run


def test_library_lines_go_to_the_record_not_the_console(tmp_path, capfd, monkeypatch) -> None:
    monkeypatch.setattr(liblog, "MAX_LINES", 3)
    rec = RunRecord.create(tmp_path, "liblog")
    # `bench sim` and `bench check` quieten pymodbus in their process; a test run earlier in
    # this process may have done so, so the loggers start from the library's defaults here
    for name in ("pymodbus", "pymodbus.logging"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    log = logging.getLogger("pymodbus.logging")
    with library_logs_to_record(rec):
        log.error("Failed to connect [Errno 111] Connect call failed ('127.0.0.1', 1)")
        logging.getLogger("websockets.client").warning("keepalive ping timeout")
        logging.getLogger("pyvisa").info("below the level: not kept")
        for _ in range(4):
            log.error("Repeating....")
    rec.close()
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    events = [e for e in load_run(rec.path).events if e["kind"] == "log"]
    lines = [(e["detail"]["logger"], e["detail"]["message"]) for e in events
             if e["name"] == "library"]
    assert lines == [("pymodbus.logging", "Failed to connect [Errno 111] Connect call failed "
                      "('127.0.0.1', 1)"), ("websockets.client", "keepalive ping timeout"),
                     ("pymodbus.logging", "Repeating....")]
    dropped = [e["detail"] for e in events if e["name"] == "library-lines-dropped"]
    assert dropped == [{"count": 3, "kept": 3}]
    # once the run is over the handler is gone
    assert not any(isinstance(h, liblog.RecordLogHandler) for h in logging.getLogger().handlers)

"""The simulated rig of a run: `bench sim` as a subprocess on ephemeral ports, its output in
the run directory, stopped (SIGTERM, then SIGKILL) whatever ends the run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.record import RunRecord

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class SimProcess:
    def __init__(self, rig_path: Path, record: RunRecord, repo: Path, suffix: str = "",
                 faults: list[str] | None = None, behaviours: list[str] | None = None) -> None:
        self.rig_path, self.record, self.repo = rig_path, record, repo
        self.faults, self.behaviours = list(faults or []), list(behaviours or [])
        # absolute: the sim runs in the repository, the bench in the caller's folder
        self.endpoints_file = (record.path / f"sim-endpoints{suffix}.json").resolve()
        self.log_path = record.path / f"sim{suffix}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, csms_url: str) -> dict[str, Any]:
        """Start `bench sim` against csms_url; its endpoints once ready (it writes them)."""
        self.endpoints_file.unlink(missing_ok=True)  # READY is its appearance
        cmd = [sys.executable, "-m", "bench.cli", "sim", "--rig", str(self.rig_path.resolve()),
               "--ephemeral", "--csms-url", csms_url,
               "--endpoints-file", str(self.endpoints_file), "--parent-pid", str(os.getpid())]
        for fault in self.faults:
            cmd += ["--fault", fault]
        for behaviour in self.behaviours:
            cmd += ["--behaviour", behaviour]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            # its own session: Ctrl-C reaches the bench, which stops the sim after safe state
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.repo, env=env, start_new_session=True)
        self.record.event("log", "sim-started", pid=self.proc.pid, cmd=cmd[1:])
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.endpoints_file.exists():
                with contextlib.suppress(json.JSONDecodeError):
                    endpoints = json.loads(self.endpoints_file.read_text("utf-8"))
                    self.record.event("log", "sim-ready", endpoints=endpoints)
                    return endpoints
            if self.proc.poll() is not None:
                raise RuntimeError(f"bench sim exited with {self.proc.returncode} before it "
                                   f"was ready; last output: {self.tail()}")
            time.sleep(0.05)
        raise TimeoutError(f"bench sim not ready within {READY_TIMEOUT_S:.0f} s (no "
                           f"{self.endpoints_file.name}); last output: {self.tail()}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            self.record.event("log", "sim-killed", pid=proc.pid)
        self.record.event("log", "sim-stopped", pid=proc.pid, returncode=proc.returncode)

    def tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

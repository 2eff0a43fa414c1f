"""The files behind every protocol server: what is served, where uploads go, the faults armed
for the next transfer, and the log of transfers. Thread-safe: each server runs in a thread of
its own and reports here."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.files.model import PROTOCOLS, Transfer, TransferFault, safe_name

MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # a diagnostics archive is megabytes; refuse a flood


class Depot:
    def __init__(self, root: Path, on_transfer: Callable[[Transfer], None]) -> None:
        self.served = Path(root) / "served"
        self.received = Path(root) / "received"
        self.served.mkdir(parents=True, exist_ok=True)
        self.received.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._faults: dict[str, TransferFault] = {}
        self._names: set[str] = set()
        self.transfers: list[Transfer] = []
        self._on_transfer = on_transfer

    # -- served files ------------------------------------------------------------------------
    def publish(self, name: str, data: bytes) -> str:
        """Serve `data` as `name` (a safe name is required: the bench chose it)."""
        if safe_name(name) != name:
            raise ValueError(f"file name {name!r}: use only letters, digits, '.', '_' and '-'")
        (self.served / name).write_bytes(data)
        return name

    def served_file(self, requested: str) -> Path | None:
        """The served file a request names (its last segment), or None."""
        path = self.served / safe_name(requested, fallback="")
        return path if path.name and path.is_file() else None

    # -- uploads -----------------------------------------------------------------------------
    def upload_path(self, requested: str) -> Path:
        """A fresh path under received/ for what a station uploads as `requested`."""
        base = safe_name(requested)
        with self._lock:
            name, n = base, 1
            while name in self._names or (self.received / name).exists():
                n += 1
                name = f"{n}-{base}"
            self._names.add(name)
        return self.received / name

    # -- faults --------------------------------------------------------------------------------
    def arm(self, protocol: str, fault: TransferFault | None) -> None:
        """The next `fault.times` transfers over `protocol` get `fault` (None disarms)."""
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")
        with self._lock:
            if fault is None:
                self._faults.pop(protocol, None)
            else:
                self._faults[protocol] = fault

    def take_fault(self, protocol: str) -> TransferFault | None:
        with self._lock:
            fault = self._faults.pop(protocol, None)
            if fault is not None and fault.times > 1:
                self._faults[protocol] = replace(fault, times=fault.times - 1)
            return fault

    # -- the log -------------------------------------------------------------------------------
    def log(self, transfer: Transfer) -> None:
        with self._lock:
            self.transfers.append(transfer)
        self._on_transfer(transfer)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

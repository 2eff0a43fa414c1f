"""One bench, one owner (design rule 23): an exclusive lock per physical resource of a rig.

A rig is its station and its instruments. Two rig files may share a meter or a Modbus server,
so the lock is taken per resource (the station id, each instrument address), not per rig
file: any overlap refuses the second run. Each resource is a file under the lock directory
locked with `fcntl.flock`; the kernel drops the lock when the process dies, so a crash or a
SIGKILL leaves no stale lock to expire. The file holds its owner (pid, host, run dir, start
time) so a refusal can name who holds the bench.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK_DIR_ENV = "BENCH_LOCK_DIR"
POLL_S = 0.2


class LockBusy(Exception):
    """A resource of the rig is held by another run; the message names the holder."""

    def __init__(self, message: str, resource: str, holder: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.resource = resource
        self.holder = holder


def rig_resources(rig: Any) -> list[str]:
    """The physical things a rig drives: its station and what each instrument's driver
    registration names (deduplicated: the EV emulators and the mains switch may share one
    Modbus server)."""
    from instruments.registry import registry

    out = {f"station:{rig.station.id}"}
    for inst in rig.instruments.values():
        out.update(registry().driver(inst.driver).lock_resources(inst.params))
    return sorted(out)


def lock_file_name(resource: str) -> str:
    """Readable and unique: a sanitised resource plus a short hash (sanitising may collide)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in resource)[:80]
    return f"{safe}-{hashlib.sha256(resource.encode()).hexdigest()[:8]}.lock"


def read_holder(path: Path) -> dict[str, Any] | None:
    """The owner written in a lock file, or None (empty, being written, unreadable)."""
    try:
        text = path.read_text("utf-8")
        return json.loads(text) if text.strip() else None
    except (OSError, json.JSONDecodeError):
        return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "an unknown process (its lock file names no owner yet)"
    run_dir = holder.get("run_dir") or "no run directory yet"
    return (f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since_utc')} "
            f"(run {run_dir})")


@dataclass
class _Held:
    resource: str
    path: Path
    fd: int
    inode: int


@dataclass
class BenchLock:
    """Locks held on the resources of one rig; `release()` (or process death) frees them."""

    lock_dir: Path
    resources: list[str]
    owner: dict[str, Any]
    waited_s: float = 0.0
    _held: list[_Held] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [h.path for h in self._held]

    def set_owner(self, **fields: Any) -> None:
        """Update what the lock files say (e.g. the run directory, known after the lock)."""
        self.owner.update(fields)
        for h in self._held:
            _write_owner(h.fd, self.owner)

    def lost(self) -> list[str]:
        """Resources whose lock file was removed or replaced since we locked it: another run
        could then lock a new file of that name, so the bench is no longer ours alone."""
        out = []
        for h in self._held:
            try:
                if os.stat(h.path).st_ino != h.inode:
                    out.append(h.resource)
            except FileNotFoundError:
                out.append(h.resource)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"lock_dir": str(self.lock_dir), "resources": self.resources,
                "files": [str(p) for p in self.paths], "owner": self.owner,
                "waited_s": round(self.waited_s, 3)}

    def release(self) -> None:
        while self._held:
            h = self._held.pop()
            # empty the owner first: a reader between unlock and close must not see us
            try:
                os.ftruncate(h.fd, 0)
            except OSError:
                pass
            fcntl.flock(h.fd, fcntl.LOCK_UN)
            os.close(h.fd)

    def __enter__(self) -> BenchLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _write_owner(fd: int, owner: dict[str, Any]) -> None:
    data = json.dumps(owner, default=str).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _try_lock(path: Path) -> _Held | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    st = os.fstat(fd)
    try:
        if os.stat(path).st_ino != st.st_ino:  # removed/replaced while we locked: try again
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return _try_lock(path)
    except FileNotFoundError:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return _try_lock(path)
    return _Held("", path, fd, st.st_ino)


def acquire(lock_dir: Path, resources: list[str], wait_s: float = 0.0,
            **owner: Any) -> BenchLock:
    """Lock every resource (sorted, so two runs never deadlock on a partial overlap).

    wait_s = 0: refuse at once with LockBusy naming the holder. wait_s > 0: retry until that
    deadline, then LockBusy saying what was awaited and who still holds it.
    """
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "since_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **owner}
    lock = BenchLock(lock_dir, sorted(resources), info)
    start = time.monotonic()
    deadline = start + max(0.0, wait_s)
    try:
        for resource in lock.resources:
            path = lock_dir / lock_file_name(resource)
            while True:
                held = _try_lock(path)
                if held is not None:
                    held.resource = resource
                    lock._held.append(held)
                    _write_owner(held.fd, lock.owner)
                    break
                if time.monotonic() >= deadline:
                    raise _busy(path, resource, wait_s)
                time.sleep(POLL_S)
    except BaseException:
        lock.release()
        raise
    lock.waited_s = time.monotonic() - start
    return lock


def _busy(path: Path, resource: str, wait_s: float) -> LockBusy:
    holder = None
    for _ in range(5):  # the holder may be between flock and writing its name
        holder = read_holder(path)
        if holder:
            break
        time.sleep(0.05)
    waited = f"still, after waiting {wait_s:g} s for it, " if wait_s > 0 else ""
    msg = (f"{resource} is {waited}held by {describe_holder(holder)} (lock file {path})")
    return LockBusy(msg, resource, holder)

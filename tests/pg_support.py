"""A private PostgreSQL server for one test: Debian's binaries, a fresh cluster in a temporary
folder, listening on a unix socket in that folder only (no TCP port to collide with), trust
authentication, torn down after. postgres refuses to run as root: as root it runs as the
unprivileged `postgres` user the Debian package created."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
SERVER_USER = "postgres"


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("postgres")
    return Path(which).parent if which else None


def _as_server_user() -> dict:
    """subprocess arguments that drop root to the postgres user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(SERVER_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def private_postgres(bindir: Path) -> Iterator[str]:
    """Yield a psycopg URL of a fresh server; whatever happens, the server is stopped and its
    folder removed."""
    import psycopg

    home = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    drop = _as_server_user()
    if drop:
        os.chown(home, drop["user"], drop["group"])
    data, log = home / "data", home / "server.log"
    proc: subprocess.Popen | None = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "bench", "--auth=trust",
                        "-E", "UTF8", "--no-sync", "--no-instructions"], check=True,
                       capture_output=True, text=True, timeout=120, **drop)
        with open(log, "w") as log_file:
            if drop:
                os.chown(log, drop["user"], drop["group"])
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-k", str(home),
                 "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=20"],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, **drop)
        url = f"postgresql:///postgres?host={home}&user=bench"
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited {proc.returncode} at start; log: "
                                   f"{log.read_text()[-1500:]}")
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError as exc:
                last = str(exc).strip()
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres on {home} not accepting connections after "
                                   f"{START_TIMEOUT_S:g} s; last error: {last}; log: "
                                   f"{log.read_text()[-1500:]}")
            time.sleep(0.1)
        yield url
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: roll back, close, exit
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        shutil.rmtree(home, ignore_errors=True)

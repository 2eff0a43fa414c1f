"""A private pcscd with the vsmartcard vpcd reader: the simulated station's RFID reader.

pcsc-lite 1.9 (Debian 12) always serves `/run/pcscd/pcscd.comm` and refuses to start while
another pcscd owns it. A private instance therefore runs in its own mount namespace where a
temporary directory is bind-mounted over `/run/pcscd`; its socket appears as
`<tmpdir>/run/pcscd/pcscd.comm` outside, and clients reach it with PCSCLITE_CSOCK_NAME set to that
path (read once per process by libpcsclite, before pyscard is imported). Without root, the
namespace is a user namespace (`unshare --user --map-root-user`).

vpcd listens (on 0.0.0.0) on `vpcd_port` for reader "<name> 00 00" and on `vpcd_port + 1` for
"<name> 00 01". A virtual card is present while its TCP connection to the port is open.

    async with PrivatePcscd() as pcscd:        # or: await pcscd.start() ... await pcscd.stop()
        pcscd.reader_name, pcscd.vpcd_port, pcscd.socket_path
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

FRIENDLY_NAME = "Virtual PCD"
VPCD_DRIVERS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib/aarch64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so",
)
READY_LINE = "daemon ready"

# In the private mount namespace: give pcscd its own /run/pcscd, then become pcscd. Where
# /run/pcscd does not exist and cannot be made (no root), the private dir covers all of /run.
_LAUNCHER = ('if mkdir -p /run/pcscd 2>/dev/null; then mount --bind "$1/pcscd" /run/pcscd '
             '|| exit 97; else mount --bind "$1" /run || exit 97; fi; shift; exec "$@"')
_MOUNT_FAILED = 97


class PcscdError(RuntimeError):
    """The private pcscd cannot be started; the message names the cause."""


def find_pcscd() -> str | None:
    """$BENCH_PCSCD (an unusual install, or a test), else pcscd on PATH or in /usr/sbin."""
    if os.environ.get("BENCH_PCSCD"):
        return os.environ["BENCH_PCSCD"]
    found = shutil.which("pcscd")
    if found:
        return found
    return "/usr/sbin/pcscd" if os.access("/usr/sbin/pcscd", os.X_OK) else None


def find_vpcd_driver() -> str | None:
    return next((p for p in VPCD_DRIVERS if os.path.exists(p)), None)


def _port_free(port: int) -> OSError | None:
    """vpcd binds 0.0.0.0:port; None when that works now, else the error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc
    return None


def free_port_pair() -> int:
    """A port p with p and p+1 free (vpcd opens two reader slots)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        if port < 65535 and _port_free(port + 1) is None:
            return port
    raise PcscdError("no free pair of TCP ports for vpcd after 50 tries")


class PrivatePcscd:
    """Start, watch and stop one private pcscd serving the vpcd reader on `vpcd_port`."""

    def __init__(self, vpcd_port: int = 0, *, pcscd: str | None = None,
                 driver: str | None = None, apdu_log: bool = False,
                 start_timeout_s: float = 5.0) -> None:
        self.requested_port = vpcd_port
        self.vpcd_port = vpcd_port
        self.pcscd_binary = pcscd
        self.driver = driver
        self.apdu_log = apdu_log
        self.start_timeout_s = start_timeout_s
        self.reader_name = f"{FRIENDLY_NAME} 00 00"
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> str:
        assert self.workdir is not None, "pcscd not started"
        return str(self.workdir / "run" / "pcscd" / "pcscd.comm")

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None, "pcscd not started"
        return self.workdir / "pcscd.log"

    def env(self) -> dict[str, str]:
        """Environment for a process whose pyscard should use this pcscd."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": self.socket_path}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._spawn()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def _spawn(self) -> None:
        binary = self.pcscd_binary or find_pcscd()
        if binary is None or not os.access(binary, os.X_OK):
            raise PcscdError(f"pcscd not found ({binary or 'not on PATH, not /usr/sbin/pcscd'});"
                             " install it: apt-get install pcscd vsmartcard-vpcd")
        driver = self.driver or find_vpcd_driver()
        if driver is None or not os.path.exists(driver):
            raise PcscdError(f"vpcd driver not found ({driver or ', '.join(VPCD_DRIVERS)});"
                             " install it: apt-get install vsmartcard-vpcd")
        unshare = shutil.which("unshare")
        if unshare is None:
            raise PcscdError("unshare (util-linux) not found: a private pcscd needs its own "
                             "mount namespace for /run/pcscd")
        port = self.requested_port or free_port_pair()
        for p in (port, port + 1):
            if (err := _port_free(p)) is not None:
                raise PcscdError(f"vpcd port 0.0.0.0:{p} not available: {err.strerror or err}"
                                 " (port in use?)")
        self.vpcd_port = port
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-pcscd-"))
        conf = self.workdir / "reader.conf.d"
        conf.mkdir()
        (self.workdir / "run" / "pcscd").mkdir(parents=True)
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "{FRIENDLY_NAME}"\nDEVICENAME /dev/null:{port}\n'
            f"LIBPATH {driver}\nCHANNELID {port}\n", encoding="ascii")
        ns = [unshare, "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            ns[1:1] = ["--user", "--map-root-user"]
        cmd = [*ns, "sh", "-c", _LAUNCHER, "sh", str(self.workdir / "run"),
               binary, "--foreground", "--info", "-c", str(conf)]
        if self.apdu_log:
            cmd.append("--apdu")
        with open(self.log_path, "wb") as log:
            try:
                self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT)
            except OSError as exc:
                self._cleanup_dir()
                raise PcscdError(f"cannot run {cmd[0]}: {exc}") from exc

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:  # polls: pcscd tells readiness only in its log
            if self._ready(expired=time.monotonic() > deadline):
                return
            await asyncio.sleep(0.01)

    def _ready(self, expired: bool) -> bool:
        """True once pcscd is up with the vpcd reader; raises when it cannot come up."""
        assert self.process is not None
        sock = Path(self.socket_path)
        text = self.log_path.read_text(errors="replace")
        code = self.process.poll()
        if code is not None:
            cause = ("could not bind-mount a private /run/pcscd (needs root or user "
                     "namespaces)" if code == _MOUNT_FAILED else f"exit code {code}")
            raise PcscdError(f"pcscd exited during start-up: {cause}; log:\n{_tail(text)}")
        if READY_LINE in text and sock.exists():
            if f"port {self.vpcd_port}" not in text:
                raise PcscdError(f"pcscd started without the vpcd reader on port "
                                 f"{self.vpcd_port}; log:\n{_tail(text)}")
            return True
        if expired:
            raise PcscdError(
                f"pcscd not ready after {self.start_timeout_s:.1f} s (waited for "
                f"'{READY_LINE}' and {sock}); log:\n{_tail(text)}")
        return False

    async def stop(self) -> None:
        """SIGTERM, then wait (kill after 3 s); always reaps the process it started."""
        proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 3.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> PrivatePcscd:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def describe(self) -> dict[str, object]:
        return {"reader": self.reader_name, "vpcd_port": self.vpcd_port,
                "socket": self.socket_path, "pid": self.process.pid if self.process else None}


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty)"

"""A network namespace of its own for the simulated station, as a lab PC routes a real one.

    with StationNetns.create() as ns:      # unique names; removed afterwards, even on failure
        cmd = [*ns.exec_prefix(), sys.executable, "-m", "bench.cli", "sim", ...]
        ns.station_ip, ns.bench_ip         # the two ends of a veth pair (a /30)

The station's side has the bench's side as its default gateway, so its traffic to the CSMS
crosses the bench host's packet filter (`nft-drop`) like a routed station's. A namespace left
by a test that was killed (its creator's pid is gone) is removed by the next `create()`.

Needs root (namespaces, links) and iproute2. `netns_unavailable()` says why this machine
cannot make one, or None.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass

PREFIX = "bnst"  # bnst-<creator pid>-<token>
SUBNET = ipaddress.ip_network("10.213.0.0/16")  # /30s are picked from here
_NAME = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+$")
IP_TIMEOUT_S = 10.0


class NetnsError(RuntimeError):
    """A namespace step failed; the message names the command and what it said."""


def _ip_binary() -> str | None:
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip", "/bin/ip")
                                       if os.path.exists(p)), None)


def ip(*args: str, check: bool = True) -> str:
    """Run `ip ARGS` with a deadline; NetnsError names the command on failure."""
    binary = _ip_binary()
    if binary is None:
        raise NetnsError("ip (iproute2) not found: apt-get install iproute2")
    try:
        done = subprocess.run([binary, *args], capture_output=True, text=True,
                              timeout=IP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise NetnsError(f"ip {' '.join(args)}: no answer within {IP_TIMEOUT_S:g} s") from None
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed (exit {done.returncode}): "
                         f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list", check=False).splitlines()
            if line.strip()]


def _kill_inside(name: str) -> None:
    """No process may outlive the namespace it ran in."""
    for pid in ip("netns", "pids", name, check=False).split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def remove_stale() -> list[str]:
    """Namespaces of ours whose creator died (a killed test run): removed, with their links."""
    gone = []
    for name in _namespaces():
        m = _NAME.match(name)
        if m and not _pid_alive(int(m.group(1))):
            _kill_inside(name)
            ip("netns", "delete", name, check=False)  # its veth end goes with it, and the peer
            gone.append(name)
    return gone


def _free_slash30(taken: str) -> ipaddress.IPv4Network:
    nets = list(SUBNET.subnets(new_prefix=30))
    for net in random.sample(nets, 64):
        if not any(str(h) in taken for h in net.hosts()):
            return net
    raise NetnsError(f"no free /30 in {SUBNET} after 64 tries")


@dataclass
class StationNetns:
    name: str
    bench_if: str  # the host's end of the veth pair (the station's gateway)
    station_if: str  # the end inside the namespace
    bench_ip: str
    station_ip: str
    prefix_len: int = 30

    @classmethod
    def create(cls) -> StationNetns:
        remove_stale()
        token = f"{random.getrandbits(24):06x}"
        net = _free_slash30(ip("-4", "-o", "addr", "show", check=False))
        bench_ip, station_ip = (str(h) for h in net.hosts())
        ns = cls(f"{PREFIX}-{os.getpid()}-{token}", f"bn{token}h", f"bn{token}s",
                 bench_ip, station_ip)
        try:
            ns._build()
        except BaseException:
            ns.remove()
            raise
        return ns

    def _build(self) -> None:
        ip("netns", "add", self.name)
        ip("link", "add", self.bench_if, "type", "veth", "peer", "name", self.station_if)
        ip("link", "set", self.station_if, "netns", self.name)
        ip("addr", "add", f"{self.bench_ip}/{self.prefix_len}", "dev", self.bench_if)
        ip("link", "set", self.bench_if, "up")
        inside = ("-n", self.name)
        ip(*inside, "addr", "add", f"{self.station_ip}/{self.prefix_len}", "dev", self.station_if)
        ip(*inside, "link", "set", self.station_if, "up")
        ip(*inside, "link", "set", "lo", "up")
        ip(*inside, "route", "add", "default", "via", self.bench_ip)

    def exec_prefix(self) -> list[str]:
        """Prepend to a command to run it inside the namespace."""
        binary = _ip_binary()
        assert binary is not None
        return [binary, "netns", "exec", self.name]

    def remove(self) -> None:
        """Processes inside killed, namespace and links deleted; never raises."""
        with contextlib.suppress(NetnsError):
            _kill_inside(self.name)
        with contextlib.suppress(NetnsError):
            ip("link", "delete", self.bench_if, check=False)
        with contextlib.suppress(NetnsError):
            ip("netns", "delete", self.name, check=False)

    def __enter__(self) -> StationNetns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def netns_unavailable() -> str | None:
    """Why this machine cannot make a station namespace (None: it can, just tried)."""
    if os.geteuid() != 0:
        return "not root: network namespaces and veth links need root"
    if _ip_binary() is None:
        return "ip (iproute2) not found: apt-get install iproute2"
    try:
        StationNetns.create().remove()
    except NetnsError as exc:
        return str(exc)
    return None

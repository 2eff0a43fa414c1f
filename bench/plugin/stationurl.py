"""The URL a lab engineer points the station at (its central system URL, which the station
completes with /<chargePointId>). The rig's [csms] listen address, unless it listens on every
interface: then this PC's addresses, since the station must use one it can route to."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any
from urllib.parse import quote

WILDCARDS = ("0.0.0.0", "::", "")


def station_url(rig: Any, host: str | None = None, port: int | None = None) -> str:
    """ws(s)://HOST:PORT/PREFIX/ID for `rig`'s station (host/port: the CSMS's actual ones)."""
    csms, station = rig.csms, rig.station
    scheme = "wss" if station.security_profile in (2, 3) else "ws"
    host = csms.host if host is None else host
    shown = f"[{host}]" if ":" in host else host
    prefix = f"/{csms.path_prefix.strip('/')}" if csms.path_prefix else ""
    return f"{scheme}://{shown}:{port or csms.port}{prefix}/{quote(station.id, safe='')}"


def station_urls(rig: Any, port: int | None = None) -> list[str]:
    """Where the station can reach the CSMS: the listen address, or this PC's addresses when
    it listens on all of them (loopback last: a station on the same PC only)."""
    if rig.csms.host not in WILDCARDS:
        return [station_url(rig, port=port)]
    hosts = [a for a in interface_addresses() if not ipaddress.ip_address(a).is_loopback]
    return [station_url(rig, host, port) for host in [*hosts, "127.0.0.1"]]


def interface_addresses() -> list[str]:
    """The IPv4 address of every network interface of this PC (Linux), in interface order."""
    import fcntl
    import struct

    siocgifaddr = 0x8915
    found: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            with contextlib.suppress(OSError):  # an interface without an IPv4 address
                packed = fcntl.ioctl(s.fileno(), siocgifaddr,
                                     struct.pack("256s", name.encode()[:15]))
                address = socket.inet_ntoa(packed[20:24])
                if address not in found:
                    found.append(address)
    return found

"""The endpoint's listening sockets: bind every address of the host, accept without asyncio's
transports (each accepted socket goes to the bench's own, bench/csms/transport.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

BACKLOG = 1024
ACCEPTS_PER_WAKEUP = 128
# out of file descriptors (or kernel memory): stop accepting for this long, then try again
ACCEPT_PAUSE_S = 1.0
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

log = logging.getLogger("bench.csms.listener")


class Listener:
    """`await Listener.open(host, port, on_accept)`; `port`; `close()`."""

    def __init__(self, sockets: list[socket.socket],
                 on_accept: Callable[[socket.socket], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.sockets = sockets
        self.on_accept = on_accept
        self.closed = False
        for s in sockets:
            self.loop.add_reader(s.fileno(), self._accept, s)

    @classmethod
    async def open(cls, host: str, port: int,
                   on_accept: Callable[[socket.socket], None]) -> Listener:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
        sockets: list[socket.socket] = []
        seen: set[tuple[int, str]] = set()
        try:
            for family, kind, proto, _, addr in infos:
                if (family, addr[0]) in seen:
                    continue
                seen.add((family, addr[0]))
                s = socket.socket(family, kind, proto)
                sockets.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and len(sockets) > 1:  # one ephemeral port for every address
                    addr = (addr[0], sockets[0].getsockname()[1], *addr[2:])
                try:
                    s.bind(addr)
                except OSError as e:
                    raise OSError(e.errno, f"cannot listen on {addr[0]}:{addr[1]}: "
                                           f"{e.strerror}") from None
                s.listen(BACKLOG)
                s.setblocking(False)
        except BaseException:
            for s in sockets:
                s.close()
            raise
        return cls(sockets, on_accept)

    @property
    def port(self) -> int:
        return self.sockets[0].getsockname()[1]

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            try:
                conn, _addr = listening.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as e:
                if e.errno not in _RESOURCE_ERRORS:
                    raise
                log.warning("cannot accept on %s: %s; accepting again in %g s",
                            listening.getsockname(), e, ACCEPT_PAUSE_S)
                self.loop.remove_reader(listening.fileno())
                self.loop.call_later(ACCEPT_PAUSE_S, self._resume, listening)
                return
            self.on_accept(conn)

    def _resume(self, listening: socket.socket) -> None:
        if not self.closed:
            self.loop.add_reader(listening.fileno(), self._accept, listening)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for s in self.sockets:
            self.loop.remove_reader(s.fileno())
            s.close()

"""Receive stamps taken by the kernel: when the bytes reached the socket, not when the bench
got round to reading them.

Linux stamps each received packet (SO_TIMESTAMPNS) on CLOCK_REALTIME; `recvmsg` returns, next
to the bytes, the stamp of the latest packet those bytes came in. The bench measures every
duration on CLOCK_MONOTONIC, so the stamp is converted with the offset between the two clocks:
sampled by reading monotonic, realtime, monotonic a few times and keeping the narrowest bracket
(its half-width bounds the sampling error), and sampled again every RESAMPLE_S, so that a step
of the wall clock (settimeofday, an NTP step) is followed within that time. Both clocks are
slewed alike by NTP, so between steps the offset does not drift. A converted stamp later than
the read that returned it is impossible and is clamped to the read (counted in `clamped`).

Where the platform has no kernel stamps, `recv_stamped` gives CLOCK_MONOTONIC right after the
read returned (`KernelStamps.source` says which one a socket uses).
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from dataclasses import dataclass

# Linux socket options (the socket module does not name them). _NEW (kernel 5.1+) always
# carries 64-bit seconds; _OLD carries the platform's `struct timespec`.
SO_TIMESTAMPNS_NEW = 64
SO_TIMESTAMPNS_OLD = 35
_TIMESPEC_NEW = struct.Struct("=qq")
_TIMESPEC_OLD = struct.Struct("@ll")
_ANCILLARY = socket.CMSG_SPACE(16)

RESAMPLE_S = 1.0
SAMPLE_TRIES = 5

_monotonic_ns = time.monotonic_ns
_realtime_ns = time.time_ns


@dataclass(slots=True)
class OffsetSample:
    """realtime - monotonic at one moment, and how precisely it is known."""

    offset_ns: int
    half_width_ns: int  # half the monotonic bracket around the realtime read
    mono_ns: int  # when it was taken


class RealtimeToMonotonic:
    """Converts CLOCK_REALTIME stamps to CLOCK_MONOTONIC (one per process is enough)."""

    def __init__(self, resample_s: float = RESAMPLE_S) -> None:
        self.resample_ns = int(resample_s * 1e9)
        self.current = self.sample()
        self.samples = 1
        self.worst_half_width_ns = self.current.half_width_ns
        self.largest_step_ns = 0  # biggest change of the offset between two samples
        self.clamped = 0  # converted stamps that fell after their read (a step, or a bug)

    @staticmethod
    def sample(tries: int = SAMPLE_TRIES) -> OffsetSample:
        best: OffsetSample | None = None
        for _ in range(tries):
            m0 = _monotonic_ns()
            r = _realtime_ns()
            m1 = _monotonic_ns()
            half = (m1 - m0) // 2
            if best is None or half < best.half_width_ns:
                best = OffsetSample(r - (m0 + half), half, m1)
        assert best is not None
        return best

    def refresh(self, now_mono_ns: int) -> OffsetSample:
        if now_mono_ns - self.current.mono_ns >= self.resample_ns:
            new = self.sample()
            self.samples += 1
            self.worst_half_width_ns = max(self.worst_half_width_ns, new.half_width_ns)
            self.largest_step_ns = max(self.largest_step_ns,
                                       abs(new.offset_ns - self.current.offset_ns))
            self.current = new
        return self.current

    def to_monotonic(self, realtime_ns: int, read_mono_ns: int) -> int:
        """The monotonic instant of a realtime stamp taken before `read_mono_ns`."""
        mono = realtime_ns - self.refresh(read_mono_ns).offset_ns
        if mono > read_mono_ns:
            self.clamped += 1
            return read_mono_ns
        return mono

    def to_realtime(self, mono_ns: int) -> int:
        """The wall-clock instant (ns since the epoch) of a monotonic stamp."""
        return mono_ns + self.refresh(_monotonic_ns()).offset_ns


CLOCK = RealtimeToMonotonic()


class KernelStamps:
    """Kernel receive stamps of one socket: `enable` once, then `recv` instead of sock.recv."""

    __slots__ = ("_layout", "_option", "source")

    def __init__(self, sock: socket.socket) -> None:
        self._option: int | None = None
        self._layout = _TIMESPEC_NEW
        self.source = "monotonic at read"
        if not sys.platform.startswith("linux"):
            return
        for option, layout, name in ((SO_TIMESTAMPNS_NEW, _TIMESPEC_NEW, "SO_TIMESTAMPNS_NEW"),
                                     (SO_TIMESTAMPNS_OLD, _TIMESPEC_OLD, "SO_TIMESTAMPNS")):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 1)
            except OSError:
                continue
            self._option, self._layout = option, layout
            self.source = f"kernel ({name}, CLOCK_REALTIME converted to CLOCK_MONOTONIC)"
            return

    @property
    def kernel(self) -> bool:
        return self._option is not None

    def recv(self, sock: socket.socket, size: int) -> tuple[bytes, int]:
        """(bytes, monotonic ns they arrived); raises like sock.recv (BlockingIOError...)."""
        if self._option is None:
            data = sock.recv(size)
            return data, _monotonic_ns()
        data, ancillary, _flags, _addr = sock.recvmsg(size, _ANCILLARY)
        read_ns = _monotonic_ns()
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == self._option \
                    and len(payload) >= self._layout.size:
                sec, nsec = self._layout.unpack_from(payload)
                return data, CLOCK.to_monotonic(sec * 1_000_000_000 + nsec, read_ns)
        return data, read_ns  # EOF, or a kernel that gave no stamp for these bytes

"""Shared pieces of the benchmarks: statistics, the machine's state, child processes, tables.

Not a benchmark itself (`make bench` runs only bench_*.py). Every benchmark prints the load
average and the CPU steal next to its tables, because the machine is shared and small.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- statistics --------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile q (0..1); NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Summary:
    n: int
    p50: float
    p99: float
    max: float
    min: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        s = sorted(values)
        return cls(len(s), percentile(s, 0.5), percentile(s, 0.99), s[-1], s[0])

    @classmethod
    def of_abs(cls, values: Sequence[float]) -> Summary:
        """Statistics of |value| (an error's size, whatever its sign)."""
        return cls.of([abs(v) for v in values])


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


# -- the machine -------------------------------------------------------------------------------

def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs: steal = time the hypervisor gave to others."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def _busy_total() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs (busy = not idle, not iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class MachineWindow:
    """The machine's state over a measured window: load average, CPU steal, CPU busy.

    `w = MachineWindow()` ... `w.stop()`; `w.describe()` for the line next to a table."""

    def __init__(self) -> None:
        self.load_start = os.getloadavg()
        self._steal0, self._total0 = cpu_times()
        self._busy0, _ = _busy_total()
        self.load_end: tuple[float, float, float] | None = None
        self.steal_pct = math.nan
        self.busy_pct = math.nan

    def stop(self) -> MachineWindow:
        steal1, total1 = cpu_times()
        busy1, _ = _busy_total()
        span = max(1, total1 - self._total0)
        self.steal_pct = 100 * (steal1 - self._steal0) / span
        self.busy_pct = 100 * (busy1 - self._busy0) / span
        self.load_end = os.getloadavg()
        return self

    def describe(self) -> str:
        end = self.load_end or os.getloadavg()
        return (f"Machine: {os.cpu_count()} CPUs; load average (1 min) {self.load_start[0]:.2f} "
                f"at start, {end[0]:.2f} at end (5 min: {end[1]:.2f}); during the runs all "
                f"CPUs were {self.busy_pct:.0f}% busy (every process, not only the bench) and "
                f"CPU steal was {self.steal_pct:.1f}% (/proc/stat).")


def runqueue_wait_ns() -> int:
    """Nanoseconds the calling thread has waited runnable for a CPU (schedstat run_delay).

    A time stamp taken by a thread that waited for a CPU is late by that wait; the benchmarks
    use the increase over a sample to tell the scheduler's delays from their own. 0 when the
    kernel does not report it."""
    fd = getattr(_schedstat, "fd", None)
    try:
        if fd is None:  # opened once per thread: a pread costs microseconds, an open more
            fd = _schedstat.fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat",
                                         os.O_RDONLY)
        return int(os.pread(fd, 128, 0).split()[1])
    except (OSError, ValueError, IndexError):
        return 0


_schedstat = threading.local()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def process_peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def raise_fd_limit(needed: int) -> str:
    """Raise the soft RLIMIT_NOFILE of this process to `needed` (up to the hard limit).

    Returns what was done, for the benchmark's notes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return f"fd limit {soft} (enough for {needed})"
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    note = f"fd soft limit raised from {soft} to {target}"
    return note if target >= needed else f"{note}: hard limit {hard} is below {needed}"


# -- child processes ---------------------------------------------------------------------------

class ChildError(RuntimeError):
    """A benchmark's child process misbehaved; the message says which and what it saw."""


class Child:
    """A child process spoken to by lines on stdin/stdout; stderr goes to ours.

    Every read has a deadline; `close()` ends it (stdin closed, then SIGTERM, then SIGKILL),
    so no child outlives the benchmark."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.last_line = ""

    @classmethod
    async def start(cls, name: str, *args: str, cpu: int | None = None) -> Child:
        prefix = ["taskset", "-c", str(cpu)] if cpu is not None else []
        proc = await asyncio.create_subprocess_exec(
            *prefix, sys.executable, *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=REPO,
            limit=1 << 24)  # result lines can be long (samples)
        return cls(name, proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def read_line(self, timeout: float, what: str) -> str:  # noqa: ASYNC109
        """The next stdout line; ChildError naming `what` on timeout or exit."""
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                raw = await self.proc.stdout.readline()
        except TimeoutError:
            raise ChildError(f"{self.name} (pid {self.pid}): waited {timeout:g} s for {what}; "
                             f"last line: {self.last_line[:200]!r}") from None
        if not raw:
            code = await self._exit_code()
            raise ChildError(f"{self.name} (pid {self.pid}) exited with {code} while the "
                             f"benchmark waited for {what}; last line: {self.last_line[:200]!r}")
        self.last_line = raw.decode().rstrip("\n")
        return self.last_line

    async def expect(self, prefix: str, timeout: float) -> str:  # noqa: ASYNC109
        """The rest of the next line that starts with `prefix` (other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            line = await self.read_line(max(0.0, deadline - time.monotonic()), repr(prefix))
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    async def _exit_code(self) -> int | None:
        try:
            async with asyncio.timeout(5):
                return await self.proc.wait()
        except TimeoutError:
            return None

    async def close(self, grace_s: float = 10.0) -> int | None:
        """Close stdin (the child's cue to stop), then SIGTERM, then SIGKILL."""
        proc = self.proc
        if proc.returncode is None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if proc.returncode is not None:
                break
            if sig is not None:
                proc.send_signal(sig)
            try:
                async with asyncio.timeout(grace_s if sig is None else 5):
                    await proc.wait()
            except TimeoutError:
                continue
        return proc.returncode


async def stdin_lines() -> asyncio.Queue[str | None]:
    """Lines of this process's stdin as a queue (None at EOF: the parent is gone or done)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="stdin", daemon=True).start()
    return queue


# -- output ------------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          right: Sequence[bool] | None = None) -> str:
    """A markdown table; numbers right-aligned unless `right` says otherwise."""
    if right is None:
        right = [not rows or isinstance(rows[0][i], (int, float)) for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def ms(ns: float) -> float:
    return ns / 1e6

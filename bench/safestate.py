"""Safe state: whatever ends a run, leave the rig where nobody gets hurt and nothing charges.

    try:
        ... the run ...
    finally:
        await bring_to_safe_state(bench)       # never raises, never hides the verdict

Steps: each driver's registration declares its own (instruments.safe_steps has the usual
ones): for every EV emulator power not allowed, no current request, unplugged (state A); the
card removed; every reference integrator stopped; a network cut on the bench host (nft-drop)
lifted. They run role by role (`Role.safe_order`: EV, card, meter, mains, reader, network),
each named after the rig's instrument (`ev1.unplugged`, `meter.integrator_stopped`), with its
own deadline, read back and recorded as `record.event("safe_state", step, ok=...,
readback=..., error=...)`; a failing step does not skip the others.

SIGTERM (a CI job cancelled, `kill`) takes the same path as Ctrl-C: `signals_cancel_main_task`
(asyncio) or `sigterm_as_keyboard_interrupt` (synchronous runners such as pytest) turn it into
a cancellation / KeyboardInterrupt so the run loop's `finally` runs safe state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from instruments.deadline import within_deadline
from instruments.errors import InstrumentError, NotSafe

STEP_TIMEOUT_S = 3.0


@dataclass
class SafeStateStep:
    step: str
    ok: bool
    readback: Any = None
    error: str | None = None
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "ok": self.ok, "readback": self.readback,
                "error": self.error, "duration_ms": self.duration_ms}


@dataclass
class SafeStateReport:
    steps: list[SafeStateStep] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failed(self) -> list[SafeStateStep]:
        return [s for s in self.steps if not s.ok]


async def _run_step(report: SafeStateReport, record: Any, step: str,
                    action: Callable[[], Awaitable[Any]], timeout_s: float) -> None:
    started = time.monotonic()
    readback: Any = None
    error: str | None = None
    try:
        readback = await within_deadline(action(), timeout_s)
    except TimeoutError:
        error = f"no result within {timeout_s:g} s"
    except NotSafe as exc:
        error = f"read-back not safe: {exc.message}"
        readback = exc.readback
    except InstrumentError as exc:
        error = str(exc)
    except Exception as exc:  # safe state must go on whatever one driver does
        error = f"{type(exc).__name__}: {exc}"
    except asyncio.CancelledError:
        # cancelled again while going safe: finish the other steps, re-raise at the end
        error = "cancelled during this step"
        report.cancelled = True
    result = SafeStateStep(step, error is None, readback, error,
                           round((time.monotonic() - started) * 1000, 3))
    report.steps.append(result)
    if record is not None:
        try:
            record.event("safe_state", step, ok=result.ok, readback=readback, error=error,
                         duration_ms=result.duration_ms)
        except Exception:  # a broken record must not stop the rig from going safe
            pass


async def bring_to_safe_state(bench: Any, record: Any = None,
                              step_timeout_s: float = STEP_TIMEOUT_S) -> SafeStateReport:
    """Bring every instrument of the bench to safe state; never raises an error.

    A cancellation arriving meanwhile ends only the step it hits; the others still run and
    CancelledError is raised at the end.

    record defaults to bench.record. Runs even when the bench is broken: each step is
    attempted on its own and re-activates its driver if needed.
    """
    record = record if record is not None else getattr(bench, "record", None)
    report = SafeStateReport()
    placed = sorted(bench.placed, key=lambda p: (p.role.safe_order, p.connector or 0, p.name))
    for p in placed:
        for step in p.registration.safe_state:
            await _run_step(report, record, f"{p.name}.{step.label}",
                            functools.partial(step.run, p.driver), step_timeout_s)
    if record is not None:
        with contextlib.suppress(Exception):
            record.event("safe_state", "done", ok=report.ok,
                         failed=[s.step for s in report.failed])
    if report.cancelled:
        raise asyncio.CancelledError("cancelled during safe state (every step was attempted)")
    return report


# -- signals ---------------------------------------------------------------------------------


class Interrupted:
    """Which signal ended the run (None: none)."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def __bool__(self) -> bool:
        return self.signal is not None


@contextlib.contextmanager
def signals_cancel_main_task(task: asyncio.Task[Any] | None = None,
                             signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
                             ) -> Iterator[Interrupted]:
    """Inside a running loop: SIGTERM/SIGINT cancel `task` (default: the current task).

    The cancellation unwinds the run through its `finally` (safe state) like Ctrl-C under
    asyncio.run; `interrupted.signal` says which signal it was (for run.json's status).
    A second signal while unwinding is ignored: safe state must finish.
    """
    loop = asyncio.get_running_loop()
    target = task or asyncio.current_task()
    interrupted = Interrupted()

    def handler(signame: str) -> None:
        if interrupted.signal is None:
            interrupted.signal = signame
            if target is not None:
                target.cancel(f"interrupted by {signame}")

    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, handler, signal.Signals(sig).name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread / not supported: the default handling stays
    try:
        yield interrupted
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def sigterm_as_keyboard_interrupt() -> Iterator[Interrupted]:
    """Synchronous runners: SIGTERM raises KeyboardInterrupt, the same path as Ctrl-C."""
    interrupted = Interrupted()

    def handler(signum: int, frame: Any) -> None:
        interrupted.signal = signal.Signals(signum).name
        raise KeyboardInterrupt(f"interrupted by {interrupted.signal}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGTERM, previous)

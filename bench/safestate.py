"""Safe state: whatever ends a run, leave the rig where nobody gets hurt and nothing charges.

    try:
        ... the run ...
    finally:
        await bring_to_safe_state(bench)       # never raises, never hides the verdict

Steps: for every EV emulator power not allowed, no current request, unplugged (state A); the
card removed; every reference integrator stopped; a network cut on the bench host (nft-drop)
lifted. Each step has its own deadline, is read back and recorded as
`record.event("safe_state", step, ok=..., readback=..., error=...)`; a failing step does not
skip the others.

SIGTERM (a CI job cancelled, `kill`) takes the same path as Ctrl-C: `signals_cancel_main_task`
(asyncio) or `sigterm_as_keyboard_interrupt` (synchronous runners such as pytest) turn it into
a cancellation / KeyboardInterrupt so the run loop's `finally` runs safe state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from instruments.errors import InstrumentError

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


class _NotSafe(Exception):
    """The read-back shows the step did not take effect."""


async def _ensure_active(driver: Any) -> None:
    if not driver.active:
        await driver.activate()


async def _run_step(report: SafeStateReport, record: Any, step: str,
                    action: Callable[[], Awaitable[Any]], timeout_s: float) -> None:
    started = time.monotonic()
    readback: Any = None
    error: str | None = None
    try:
        readback = await asyncio.wait_for(action(), timeout_s)
    except TimeoutError:
        error = f"no result within {timeout_s:g} s"
    except _NotSafe as exc:
        error = f"read-back not safe: {exc.args[0]}"
        readback = exc.args[1] if len(exc.args) > 1 else None
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
    for connector, ev in sorted(bench.evs.items()):
        await _run_step(report, record, f"ev{connector}.power_not_allowed",
                        _ev_step(ev, "allow_power", ev_action=lambda e: e.allow_power(False),
                                 check=lambda s: not s.allow_power), step_timeout_s)
        await _run_step(report, record, f"ev{connector}.no_current_request",
                        _ev_step(ev, "requested_current",
                                 ev_action=lambda e: e.request_current(0),
                                 check=lambda s: s.requested_current_a == 0), step_timeout_s)
        await _run_step(report, record, f"ev{connector}.unplugged",
                        _ev_step(ev, "plugged", ev_action=_unplug,
                                 check=lambda s: not s.plugged and s.cp_request == "A"),
                        step_timeout_s)
    presenter = getattr(bench, "card_presenter", None)
    if presenter is not None:
        await _run_step(report, record, "card.removed", _card_step(presenter), step_timeout_s)
    for connector, meter in sorted(bench.meters.items()):
        await _run_step(report, record, f"meter{connector}.integrator_stopped",
                        _meter_step(meter), step_timeout_s)
    network = getattr(bench, "network", None)
    if network is not None and hasattr(network, "restore_now"):  # a cut that outlives us
        await _run_step(report, record, f"{network.name}.restored", _network_step(network),
                        step_timeout_s)
    if record is not None:
        with contextlib.suppress(Exception):
            record.event("safe_state", "done", ok=report.ok,
                         failed=[s.step for s in report.failed])
    if report.cancelled:
        raise asyncio.CancelledError("cancelled during safe state (every step was attempted)")
    return report


async def _unplug(ev: Any) -> None:
    await ev.set_cp_state("A")
    await ev.unplug()
    await ev.pause(False)
    await ev.stop(False)


def _ev_step(ev: Any, what: str, ev_action: Callable[[Any], Awaitable[None]],
             check: Callable[[Any], bool]) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        await _ensure_active(ev)
        await ev_action(ev)
        state = await ev.read_state()
        readback = {"plugged": state.plugged, "cp_request": state.cp_request,
                    "cp_state": state.cp_state, "allow_power": state.allow_power,
                    "requested_current_a": state.requested_current_a,
                    "contactor_closed": state.contactor_closed}
        if not check(state):
            raise _NotSafe(f"{what} did not take effect", readback)
        return readback

    return step


def _card_step(presenter: Any) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        if not presenter.active:
            if presenter.presented is None and presenter.driver != "relay-card":
                return {"presented": None}  # never activated: nothing on the reader
            await presenter.activate()
        if presenter.presented is not None or presenter.driver == "relay-card":
            await presenter.remove()
        readback = {"presented": presenter.presented}
        if presenter.presented is not None:
            raise _NotSafe("card still presented", readback)
        return readback

    return step


def _meter_step(meter: Any) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        await _ensure_active(meter)
        if await meter.integrator_state() == "RUN":
            await meter.integrator_stop()
        state = await meter.integrator_state()
        if state == "RUN":
            raise _NotSafe("integrator still running", {"state": state})
        return {"state": state}

    return step


def _network_step(network: Any) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        await _ensure_active(network)  # activation alone removes a table left by a crash
        return await network.restore_now()  # raises when the read-back still shows drops

    return step


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

"""Safe-state steps by capability, for driver registrations to declare (and a lab's to reuse).

Each step activates its instrument if needed (the bench may be broken, or activation may
have failed), commands, reads back and raises NotSafe when the read-back is not safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from instruments.errors import NotSafe
from instruments.interfaces import (
    CardPresenter,
    EvEmulator,
    EvState,
    PowerMeter,
    SocketActuators,
)
from instruments.registration import SafeStep


async def ensure_active(instrument: Any) -> None:
    if not instrument.active:
        await instrument.activate()


def ev_readback(state: EvState) -> dict[str, Any]:
    return {"plugged": state.plugged, "cp_request": state.cp_request,
            "cp_state": state.cp_state, "allow_power": state.allow_power,
            "requested_current_a": state.requested_current_a,
            "contactor_closed": state.contactor_closed}


def _ev_step(label: str, what: str, act: Callable[[EvEmulator], Awaitable[None]],
             safe: Callable[[EvState], bool], doc: str) -> SafeStep:
    async def run(ev: EvEmulator) -> dict[str, Any]:
        await ensure_active(ev)
        await act(ev)
        state = await ev.read_state()
        readback = ev_readback(state)
        if not safe(state):
            raise NotSafe(f"{what} did not take effect", readback)
        return readback

    return SafeStep(label, run, doc)


async def _unplug(ev: EvEmulator) -> None:
    await ev.set_cp_state("A")
    await ev.unplug()
    await ev.pause(False)
    await ev.stop(False)


EV_SAFE_STEPS: tuple[SafeStep, ...] = (
    _ev_step("power_not_allowed", "allow_power", lambda ev: ev.allow_power(False),
             lambda s: not s.allow_power, "the EV takes no power"),
    _ev_step("no_current_request", "requested_current", lambda ev: ev.request_current(0),
             lambda s: s.requested_current_a == 0, "the EV requests no current"),
    _ev_step("unplugged", "plugged", _unplug,
             lambda s: not s.plugged and s.cp_request == "A", "the EV is unplugged (state A)"),
)


CABLE_OUT_WITHIN_S = 2.0  # pulls until the station has opened its lock after the EV end left


async def _cable_out(ev: EvEmulator) -> dict[str, Any]:
    """Socket rigs: the rig's hold on the lock let go and the cable's station end out of the
    socket (the station opens its lock once the EV end is gone; pulled again for
    CABLE_OUT_WITHIN_S)."""
    await ensure_active(ev)
    if not (isinstance(ev, SocketActuators) and ev.socket_actuated):
        return {"socket_actuators": False}
    await ev.hold_lock(False)
    deadline = asyncio.get_running_loop().time() + CABLE_OUT_WITHIN_S
    while True:
        await ev.socket_plug("out")
        state = await ev.read_socket()
        if state.socket_plug == "out":
            return state.as_dict()
        if asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.05)
    raise NotSafe("the cable's station end is still in the socket: the station keeps its lock "
                  "closed", state.as_dict())


SOCKET_SAFE_STEPS: tuple[SafeStep, ...] = (
    SafeStep("cable_out", _cable_out,
             "socket rigs: the lock is not held and the cable is out of the station's socket"),
)


async def _integrator_stopped(meter: PowerMeter) -> dict[str, Any]:
    await ensure_active(meter)
    if await meter.integrator_state() == "RUN":
        await meter.integrator_stop()
    state = await meter.integrator_state()
    if state == "RUN":
        raise NotSafe("integrator still running", {"state": state})
    return {"state": state}


METER_SAFE_STEPS: tuple[SafeStep, ...] = (
    SafeStep("integrator_stopped", _integrator_stopped, "the reference integrator is stopped"),
)


def card_removed(always: bool = False) -> SafeStep:
    """The card is off the reader. always=False: a presenter never activated has presented
    nothing (a vpcd card, an operator); always=True: activate and remove anyway (a relay
    board's coils may still be on after a crash)."""

    async def run(presenter: CardPresenter) -> dict[str, Any]:
        if not presenter.active:
            if presenter.presented is None and not always:
                return {"presented": None}
            await presenter.activate()
        if presenter.presented is not None or always:
            await presenter.remove()
        readback = {"presented": presenter.presented}
        if presenter.presented is not None:
            raise NotSafe("card still presented", readback)
        return readback

    return SafeStep("removed", run, "no card on the station's reader")

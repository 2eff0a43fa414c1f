"""The maintenance OCTT runs between cases, so that every case starts from the same state:
CSMS responders back to default, open transactions stopped, EV unplugged and card removed,
every connector Operative, what the case registered in `case.undo` (a reservation cancelled, a
local list cleared), the authorization cache cleared where there is one, the case's
configuration keys restored, and every connector Available again.

Each step has its own deadline; a failing step is recorded and reported, never raised: it
must not hide the outcome of the case that just ran.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.plugin.context import Case
from bench.plugin.prestate import restore_case_config
from instruments.deadline import within_deadline


async def _step(case: Case, name: str, fn: Callable[[], Awaitable[Any]], deadline_s: float,
                notes: list[str]) -> None:
    try:
        await within_deadline(fn(), deadline_s)
    except Exception as exc:  # recorded, never raised: see module doc
        text = f"maintenance '{name}' did not complete: {type(exc).__name__}: {exc}"
        notes.append(text)
        case.ctx.record.event("step", f"maintenance: {name}", case=case.id, error=text)
    else:
        case.ctx.record.event("step", f"maintenance: {name}", case=case.id, ok=True)


async def wait_connected(station: Any, deadline_s: float) -> None:
    if getattr(station, "connected", True):
        return
    await station.wait_reconnected(deadline_s)


async def run_maintenance(case: Case) -> list[str]:
    ctx, notes = case.ctx, []
    station, bench = ctx.station, ctx.bench
    settle = float(ctx.settings["settle_timeout_s"])
    wait = float(ctx.settings["message_timeout_s"])
    answer = call_deadline_s(ctx)  # how long one CALL of the bench may wait for its answer
    if station is None:
        return notes
    session = station.session  # what the station is doing
    responders = getattr(station, "responders", None)
    if responders is not None:
        responders.reset()
    async def connected() -> None:
        boot_s = float(ctx.settings["boot_timeout_s"])
        with case.waiting("the station to reconnect (maintenance)", boot_s):
            await wait_connected(station, boot_s)

    await _step(case, "station connected", connected, float(ctx.settings["boot_timeout_s"])
                + 5, notes)

    async def stop_transactions() -> None:
        for tx in session.open_transactions():
            after = time.monotonic_ns()
            res = await station.call("RemoteStopTransaction", {"transactionId": tx.transaction_id})
            if res.error is None and res.get("status") == "Accepted":
                await station.expect("StopTransaction", match={"transactionId": tx.transaction_id},
                                     within=wait, after=after)
            session.forget_transaction(tx.transaction_id)

    open_count = len(session.open_transactions())
    await _step(case, "stop open transactions", stop_transactions,
                open_count * (answer + wait) + 5, notes)

    # a step the rig has no instrument for is skipped: Bench.activate said so once
    if bench is not None and not bench.lacks("ev"):
        async def unplug_all() -> None:
            for n in sorted(bench.evs):
                await release_socket(n)
                await bench.unplug(n)

        async def release_socket(n: int) -> None:
            """A socket whose station keeps the cable locked once the EV end is gone
            (UnlockConnectorOnEVSideDisconnect=false) is unlocked as OCTT's operator would."""
            if not bench.has_socket(n):
                return
            await bench.unplug_ev_side(n)
            state = await bench.socket_state(n)
            if state.lock_closed and not state.lock_held and state.socket_plug != "out":
                await station.call("UnlockConnector", {"connectorId": n})

        await _step(case, "EV unplugged", unplug_all, 30, notes)
    if bench is not None:
        if getattr(bench, "card_presenter", True) is not None:
            async def card_away() -> None:
                await bench.remove_card()
                # a reader sees a new tap only after it saw the card gone
                await asyncio.sleep(float(ctx.settings.get("card_hold_s", 0.6)))

            await _step(case, "card removed", card_away, 15, notes)

    async def operative() -> None:
        connectors = range(0, ctx.rig.station.connectors + 1)
        if any(session.status(n) == "Unavailable" for n in connectors):
            res = await station.call("ChangeAvailability", {"connectorId": 0, "type": "Operative"})
            if res.error is not None or res.get("status") not in ("Accepted", "Scheduled"):
                raise RuntimeError(f"ChangeAvailability(0, Operative) answered "
                                   f"{res.get('status') if res.error is None else res.error}")

    await _step(case, "availability Operative", operative, answer + 5, notes)

    for name, undo in list(case.undo.items()):  # what the case itself left (a reservation...)
        undo, deadline_s = undo if isinstance(undo, tuple) else (undo, answer + wait + 5)
        await _step(case, name, undo, deadline_s, notes)

    if ctx.rig.hardware.get("authorization_cache"):
        await _step(case, "cache cleared", lambda: station.call("ClearCache", {}), answer + 5,
                    notes)

    await _step(case, "configuration restored", lambda: restore_case_config(station, case),
                (2 + len(case.config_original)) * answer + 10, notes)

    async def all_available() -> None:
        with case.waiting("every connector Available (maintenance)", settle):
            await connectors_available()

    async def connectors_available() -> None:
        deadline = time.monotonic() + settle
        while True:
            pending = {n: session.status(n) for n in range(1, ctx.rig.station.connectors + 1)
                       if session.status(n) not in ("Available", None)}
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"connectors not Available after {settle:.0f} s: last "
                                   f"status {pending}")
            await asyncio.sleep(0.1)

    await _step(case, "connectors Available", all_available, settle + 5, notes)
    return notes



def call_deadline_s(ctx: Any) -> float:
    """The response timeout of one CALL of the bench (the rig's [csms] response_timeout_s)."""
    return float(getattr(getattr(ctx.rig, "csms", None), "response_timeout_s", 30.0))

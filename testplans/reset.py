"""The Reset cases' flows, Hard and Soft alike: TC_013/TC_014 (without a transaction) and
TC_015/TC_016 (with one). Only the reset type and what it implies differ."""

from __future__ import annotations

from typing import Any

from bench.plugin import Case
from testplans.boot import boot_statuses
from testplans.ocpp import check_answer, expect, expect_status, triggered
from testplans.states import Session, check_stop_reason


async def reset_reboots(case: Case, kind: str, step: str) -> tuple[Any, Any]:
    """Reset(kind) -> Accepted; the station reboots: BootNotification. Returns (the Reset
    call's result, the BootNotification); measures Reset -> BootNotification."""
    with case.step(step):
        reset = await case.station.call("Reset", {"type": kind})
        check_answer(case, reset, "Accepted", "Reset")
        boot = await expect(case, "BootNotification", after=reset.sent_mono_ns,
                            within=case.setting("boot_timeout_s"))
        triggered(case, "triggered.reset", reset, boot)
    return reset, boot


async def change_availability(case: Case, n: int, kind: str, status: str) -> None:
    """ChangeAvailability(n, kind) -> Accepted; StatusNotification(status), measured."""
    with case.step(f"ChangeAvailability(connector {n}, {kind}): {status}"):
        res = await case.station.call("ChangeAvailability", {"connectorId": n, "type": kind})
        check_answer(case, res, "Accepted", "ChangeAvailability")
        sn = await expect_status(case, n, status, after=res.sent_mono_ns)
        triggered(case, "triggered.change_availability", res, sn)


async def reset_without_transaction(case: Case, kind: str) -> None:
    """Connector Inoperative; Reset(kind); after the reboot it is still Unavailable (the
    availability persists), the others Available; Operative again (TC_013, TC_014)."""
    n = case.connector
    await change_availability(case, n, "Inoperative", "Unavailable")
    _, boot = await reset_reboots(case, kind, f"Reset({kind}): the station reboots")

    with case.step(f"after the reboot: connector {n} still Unavailable, the others Available"):
        for c in range(0, case.rig.station.connectors + 1):
            await expect_status(case, c, "Unavailable" if c == n else "Available",
                                after=boot.mono_ns)

    await change_availability(case, n, "Operative", "Available")


async def reset_with_transaction(case: Case, session: Session, kind: str) -> None:
    """Reset(kind) during a transaction and the reboot that follows (TC_015, TC_016)."""
    station = case.station
    n, tid = session.connector, session.transaction_id
    reset, boot = await reset_reboots(
        case, kind, f"Reset({kind}): the station stops transaction {tid} and reboots")
    before_boot = [m for m in station.received("StatusNotification")
                   if reset.sent_mono_ns <= m.mono_ns < boot.mono_ns
                   and m.payload.get("connectorId") == n]

    with case.step(f"after the reboot: connector {n} Finishing or Preparing, the others "
                   "Available"):
        statuses = await boot_statuses(case, boot, {n: ("Finishing", "Preparing")})

    with case.step(f"StopTransaction({tid}, reason {kind}Reset)"):
        stop = await expect(case, "StopTransaction", {"transactionId": tid},
                            after=reset.sent_mono_ns)
        check_stop_reason(case, stop, f"{kind}Reset", note_left_out=True)
    if kind == "Soft":  # a soft reset ends transactions normally, before the reset (§5.14)
        case.check(stop.mono_ns < boot.mono_ns, "StopTransaction before the reboot",
                   f"sent it only after the BootNotification (seq {stop.seq} > {boot.seq})")
    if stop.mono_ns < boot.mono_ns:
        finishing = [m for m in before_boot if m.payload.get("status") == "Finishing"]
        after = statuses[n].payload.get("status")
        case.check(bool(finishing) or after == "Finishing",
                   f"StatusNotification(connector {n}, Finishing) with the StopTransaction "
                   "sent before the reboot",
                   f"sent {[m.payload.get('status') for m in before_boot] or 'none'} before "
                   f"the reboot and {after} after it")

"""TC_015_CS Hard Reset With Transaction (catalogue §1.1; OL p26).

Charging; Reset(Hard) -> Accepted; StopTransaction(reason HardReset) either before the reboot
or after it; when it comes before, StatusNotification(Finishing) too (before the reboot, or as
the connector's status after it); BootNotification; StatusNotification for connector 0 and
every connector: the transaction's connector Finishing or Preparing, the others Available.
Measures Reset -> BootNotification. The EV stays plugged in throughout.
"""

from typing import Any

import pytest

from testplans.ocpp import check_answer, expect, triggered
from testplans.states import Session, charging

pytestmark = pytest.mark.octt("TC_015_CS", "Hard Reset With Transaction",
                              requires=("instrument:ev", "instrument:card"))


async def test_tc_015_cs(case, station):
    session = await charging(case)
    await reset_with_transaction(case, station, session, "Hard")


async def reset_with_transaction(case: Any, station: Any, session: Session, kind: str) -> None:
    """Reset(kind) during a transaction and the reboot that follows (TC_015, TC_016)."""
    n, tid = session.connector, session.transaction_id
    reason = f"{kind}Reset"
    with case.step(f"Reset({kind}): the station stops transaction {tid} and reboots"):
        reset = await station.call("Reset", {"type": kind})
        check_answer(case, reset, "Accepted", "Reset")
        boot = await expect(case, "BootNotification", after=reset.sent_mono_ns,
                            within=case.setting("boot_timeout_s"))
        triggered(case, "triggered.reset", reset, boot)
    before_boot = [m for m in station.received("StatusNotification")
                   if reset.sent_mono_ns <= m.mono_ns < boot.mono_ns
                   and m.payload.get("connectorId") == n]

    with case.step(f"after the reboot: connector {n} Finishing or Preparing, the others "
                   "Available"):
        statuses = await boot_statuses(case, boot, {n: ("Finishing", "Preparing")})

    with case.step(f"StopTransaction({tid}, reason {reason})"):
        stop = await expect(case, "StopTransaction", {"transactionId": tid},
                            after=reset.sent_mono_ns)
        got = stop.payload.get("reason", "Local")  # absent means Local (OCPP 1.6 §7.47)
        case.check(got == reason, f"StopTransaction reason {reason}",
                   f"sent reason {got}{'' if 'reason' in stop.payload else ' (left out)'} "
                   f"(seq {stop.seq})")
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


async def boot_statuses(case: Any, boot: Any, allowed: dict[int, tuple[str, ...]]) -> dict:
    """The StatusNotification of connector 0 and every connector after a boot; each must be
    one of allowed[connector] (default Available). Returns them by connector."""
    out = {}
    for c in range(0, case.rig.station.connectors + 1):
        want = allowed.get(c, ("Available",))
        sn = await expect(case, "StatusNotification", {"connectorId": c}, after=boot.mono_ns)
        got = sn.payload.get("status")
        case.check(got in want, f"StatusNotification(connector {c}, {' or '.join(want)}) "
                   "after the boot", f"sent status {got} (errorCode "
                   f"{sn.payload.get('errorCode')}, seq {sn.seq})")
        out[c] = sn
    return out

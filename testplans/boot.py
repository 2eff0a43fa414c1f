"""Boot steps the boot, reset and power cases share (TC_001, TC_002, TC_013..016, TC_032_x,
TC_034): how the bench answers boots, the power cycle and its BootNotification, the statuses
and heartbeats that follow a boot."""

from __future__ import annotations

import time
from typing import Any

from bench.plugin import Case
from bench.plugin.prestate import remember_config
from testplans.heartbeat import idle_heartbeats
from testplans.ocpp import clock_offset_s, expect, expect_status, utc_timestamp


async def answer_boots(case: Case, first: str) -> None:
    """The next BootNotification is answered `first` (interval boot_retry_interval_s), every
    later one Accepted (interval heartbeat_interval_s)."""
    station = case.station
    retry_s = int(case.setting("boot_retry_interval_s"))
    heartbeat_s = int(case.setting("heartbeat_interval_s"))
    answers = iter([first])

    def boot_answer(payload: Any) -> dict[str, Any]:
        status = next(answers, "Accepted")
        return {"status": status, "currentTime": utc_timestamp(),
                "interval": retry_s if status == first else heartbeat_s}

    station.responders.override("BootNotification", boot_answer)
    if station.connected and station.booted:  # the Accepted interval changes it: restore it
        await remember_config(station, case, "HeartbeatInterval")


def measure_boot_time(case: Case, boot: Any, powered: int) -> None:
    """Power-on (the verb's stamp) -> BootNotification, for the case and the run-wide series."""
    boot_s = (boot.mono_ns - powered) / 1e9
    case.measure("boot.time_after_power_on", boot_s, evidence=[boot.seq])
    case.collect("boot.time_after_power_on", boot_s, evidence=boot.seq)


async def booted(case: Case, after: int, powered: int,
                 step: str = "BootNotification after power-on") -> Any:
    """The BootNotification after power-on (not before `after`); measures the boot time."""
    with case.step(step):
        boot = await expect(case, "BootNotification", after=after,
                            within=case.setting("boot_timeout_s"))
        measure_boot_time(case, boot, powered)
    return boot


async def power_cycled(case: Case, step: str = "power cycle the station",
                       boot_step: str = "BootNotification after power-on") -> tuple[int, Any]:
    """Power off and on; the BootNotification that follows. Returns (stamp before the power
    cycle, the BootNotification)."""
    with case.step(step):
        before = time.monotonic_ns()
        powered = await case.bench.power_cycle(float(case.setting("power_off_s")))
    return before, await booted(case, before, powered, boot_step)


async def boot_statuses(case: Case, boot: Any, allowed: dict[int, tuple[str, ...]]) -> dict:
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


async def available_then_heartbeats(case: Case, accepted: Any) -> None:
    """After the accepted BootNotification: StatusNotification(Available) for connector 0 and
    every connector, then Heartbeats with no idle time over heartbeat_interval_s (4 beats;
    every idle time from the last StatusNotification on is measured: testplans.heartbeat)."""
    heartbeat_s = int(case.setting("heartbeat_interval_s"))
    with case.step("StatusNotification(Available) for connector 0 and every connector"):
        last = accepted.mono_ns
        for n in range(0, case.rig.station.connectors + 1):
            sn = await expect_status(case, n, "Available", after=accepted.mono_ns)
            clock_offset_s(case, sn)
            last = max(last, sn.mono_ns)

    with case.step(f"Heartbeats: idle at most HeartbeatInterval ({heartbeat_s} s) at a time"):
        await idle_heartbeats(case, after=last, beats=4)

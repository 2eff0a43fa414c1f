"""A fresh boot of the station at the start of a run on a real rig.

On a lab rig the station is always already up: after the previous run it only reconnects
and sends Heartbeats, and a run that waits for its BootNotification waits in vain. So the
run starts it afresh, as a pre-step recorded before the first case:

1. with a mains instrument: power-cycle the station (`bench.power_cycle`), then wait for
   its BootNotification;
2. without one: wait for the station to connect; a BootNotification of its own (someone
   power-cycled it, or it boots on every connection) is a fresh boot; else Reset(Hard) over
   OCPP (OCPP 1.6 §5.14: a hard reset is a reboot) and wait for the BootNotification;
3. when neither can be done (the station never connects, or it does not accept the Reset)
   the run BLOCKs at once, saying what to do: power-cycle the station or declare
   [instruments.mains].

The simulated rig needs none of this: `bench run` starts it, so its station boots fresh.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any

OWN_BOOT_GRACE_S = 3.0  # a station that boots sends BootNotification first, right on connecting

POWER_CYCLE = "power-cycle"
RESET_HARD = "reset-hard"
OWN_BOOT = "own-boot"


@dataclass
class FreshBoot:
    method: str  # power-cycle, reset-hard, own-boot
    ok: bool
    message: str  # what was done, or (not ok) why the station is not up and what to do
    seconds: float = 0.0
    boot_seq: int | None = None  # the BootNotification's frame

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _NotUp(Exception):
    """The station did not come up: the message says why and what to do."""


class FreshBootStep:
    """Brings the station of `rig` to a fresh boot with what the rig has."""

    def __init__(self, rig: Any, bench: Any, csms: Any, settings: dict[str, Any], record: Any,
                 waiting: Any = None) -> None:
        self.rig, self.bench, self.csms, self.record = rig, bench, csms, record
        self.boot_s = float(settings["boot_timeout_s"])
        self.power_off_s = float(settings["power_off_s"])
        self.waiting = waiting or (lambda what, seconds: contextlib.nullcontext())
        self.station = csms.station(rig.station.id)

    @property
    def advice(self) -> str:
        return (f"power-cycle the station or declare [instruments.mains] in {self.rig.path} "
                f"(the station must connect to {self.csms.url}/{self.rig.station.id})")

    async def run(self, since_ns: int) -> FreshBoot:
        """since_ns: when the CSMS started (a BootNotification after it is a fresh one)."""
        mains = getattr(self.bench, "mains", None)
        method = POWER_CYCLE if mains is not None else None
        started = time.monotonic()
        try:
            if mains is not None:
                boot, text = await self._power_cycle(mains.name)
            else:
                method, boot, text = await self._without_mains(since_ns)
        except _NotUp as exc:
            return self._done(FreshBoot(method or RESET_HARD, False, str(exc),
                                        round(time.monotonic() - started, 3)))
        return self._done(FreshBoot(method, True, text, round(time.monotonic() - started, 3),
                                    boot.seq))

    def _done(self, result: FreshBoot) -> FreshBoot:
        self.record.event("log", "fresh-boot", **result.as_dict())
        self.record.update_meta(fresh_boot=result.as_dict())
        return result

    def _pre_step(self, text: str) -> None:
        self.record.event("step", f"pre-step: {text}", case=None)

    async def _power_cycle(self, mains: str) -> tuple[Any, str]:
        self._pre_step(f"power-cycle the station ({mains}, off {self.power_off_s:g} s)")
        before = time.monotonic_ns()
        try:
            powered = await self.bench.power_cycle(self.power_off_s)
        except Exception as exc:
            raise _NotUp(f"the power cycle by {mains} failed: {exc}") from None
        boot = await self._boot_after(before, f"the power cycle by {mains}")
        after_s = (boot.mono_ns - powered) / 1e9
        return boot, (f"power-cycled by {mains}; BootNotification {after_s:.1f} s after "
                      f"power-on (seq {boot.seq})")

    async def _without_mains(self, since_ns: int) -> tuple[str, Any, str]:
        station, sid = self.station, self.rig.station.id
        if not station.connected:
            with self.waiting(f"station {sid} to connect (no mains instrument: it must come by "
                              "itself)", self.boot_s):
                try:
                    await station.wait_connected(self.boot_s)
                except TimeoutError:
                    raise _NotUp(f"station {sid} did not connect within {self.boot_s:g} s and "
                                 f"the rig has no mains instrument to power-cycle it: "
                                 f"{self.advice}") from None
        own = await self._own_boot(since_ns)
        if own is not None:
            self._pre_step("the station booted by itself on connecting: no reset needed")
            await self._accepted()
            return OWN_BOOT, own, f"booted by itself on connecting (seq {own.seq})"
        self._pre_step("Reset(Hard) over OCPP (the rig has no mains instrument)")
        try:
            res = await station.call("Reset", {"type": "Hard"})
        except Exception as exc:  # CallTimeout, StationGone
            raise _NotUp(f"station {sid} did not answer Reset(Hard) ({exc}); the bench cannot "
                         f"bring it to a fresh boot: {self.advice}") from None
        answer = res.error if res.error is not None else res.get("status")
        if res.error is not None or answer != "Accepted":
            raise _NotUp(f"station {sid} answered Reset(Hard) with {answer}, not Accepted; the "
                         f"bench cannot bring it to a fresh boot: {self.advice}")
        boot = await self._boot_after(res.sent_mono_ns, "Reset(Hard)")
        return RESET_HARD, boot, (f"Reset(Hard) accepted; BootNotification "
                                  f"{(boot.mono_ns - res.sent_mono_ns) / 1e9:.1f} s after it "
                                  f"(seq {boot.seq})")

    async def _own_boot(self, since_ns: int) -> Any:
        """A BootNotification sent since the CSMS started, or on connecting: a booting
        station sends it first, so the grace runs from the connection's opening."""
        opened = getattr(self.station, "connected_mono_ns", None) or time.monotonic_ns()
        left = OWN_BOOT_GRACE_S - (time.monotonic_ns() - opened) / 1e9
        with contextlib.suppress(TimeoutError):
            return await self.station.expect("BootNotification", after=since_ns,
                                             within=max(0.05, left))
        return None

    async def _boot_after(self, after_ns: int, what: str) -> Any:
        sid = self.rig.station.id
        with self.waiting(f"station {sid}'s BootNotification after {what}", self.boot_s):
            try:
                boot = await self.station.expect("BootNotification", after=after_ns,
                                                 within=self.boot_s)
            except TimeoutError as exc:
                raise _NotUp(f"station {sid} sent no BootNotification within {self.boot_s:g} s "
                             f"of {what} ({exc}): {self.advice}") from None
        await self._accepted()
        return boot

    async def _accepted(self) -> None:
        """The bench's answer to the boot is on its way: wait until it was Accepted."""
        try:
            await self.station.wait_booted(self.boot_s)
        except TimeoutError as exc:
            raise _NotUp(f"station {self.rig.station.id}'s BootNotification was not accepted "
                         f"({exc})") from None

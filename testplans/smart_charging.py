"""Steps the Smart Charging cases share (testplans/smartcharging): building and installing
charging profiles, GetCompositeSchedule judged against the schedule the bench computes itself
(bench/smartcharging), and the hardware in the loop: the output current settles under the
limit in force within the declared reaction time ([pics] charging_profile_reaction_s).

    async with installed_profiles(case) as profiles:          # cleared again at the end
        await profiles.set(n, tx_default(case, 1, 0, [(0, limit)]))
        await follows_limit(case, profiles, n, since_ns=res.sent_mono_ns, why="...")
        await check_composite(case, profiles, n, duration)
    profiles.measure(case)                                    # smart.reaction_time, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bench.plugin import BenchFault, Case
from bench.smartcharging import ChargingProfile, composite_schedule
from bench.smartcharging.compare import compare_composite, describe_expected
from bench.smartcharging.composite import applicable, limit_at
from testplans.ocpp import bench_utc_at, check_answer, station_time
from testplans.states import instrument_on


def utc_text(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def schedule_profile(pid: int, purpose: str, stack: int, periods: list[tuple[float, float]], *,
                     duration: float | None = None, kind: str = "Absolute",
                     transaction_id: int | None = None, unit: str = "A",
                     start: dt.datetime | None = None) -> dict[str, Any]:
    """csChargingProfiles: (startPeriod s, limit) periods; Absolute ones start now (bench
    UTC) unless `start` says otherwise."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": int(s), "limit": round(float(v), 1)}
                                   for s, v in periods]}
    if kind != "Relative":
        schedule["startSchedule"] = utc_text(start or dt.datetime.now(dt.UTC))
    if duration is not None:
        schedule["duration"] = int(duration)
    cs: dict[str, Any] = {"chargingProfileId": pid, "stackLevel": stack,
                          "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
                          "chargingSchedule": schedule}
    if transaction_id is not None:
        cs["transactionId"] = transaction_id
    return cs


@dataclass
class Reactions:
    """What a case measured, judged as series at its end (Profiles.measure)."""

    times_s: list[float] = field(default_factory=list)
    errors_a: list[float] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    start_offsets_s: list[float] = field(default_factory=list)
    start_evidence: list[int] = field(default_factory=list)


@dataclass
class Profiles:
    """What the bench installed on the station (the input of its own composite schedule)."""

    case: Case
    items: list[ChargingProfile] = field(default_factory=list)
    reactions: Reactions = field(default_factory=Reactions)
    transaction_id: int | None = None
    transaction_start: dt.datetime | None = None

    def measure(self, case: Case) -> None:
        """The series taken: reaction times and limit errors (HIL), scheduleStart offsets."""
        r = self.reactions
        if r.times_s:
            case.measure("smart.reaction_time", series=r.times_s, evidence=r.evidence)
            case.measure("smart.limit_error", series=r.errors_a, evidence=r.evidence)
        if r.start_offsets_s:
            case.measure("smart.schedule_start_offset", series=r.start_offsets_s,
                         evidence=r.start_evidence)

    def note(self, connector: int, cs: dict[str, Any]) -> None:
        """The station accepted `cs` on `connector`: it replaces a profile with its id or its
        stackLevel and purpose on that connector (OCPP 1.6 §5.16)."""
        new = ChargingProfile.from_ocpp(cs, connector, installed_at=dt.datetime.now(dt.UTC))
        self.items = [p for p in self.items if not (
            p.profile_id == new.profile_id or (p.connector_id == connector
                                               and p.stack_level == new.stack_level
                                               and p.purpose == new.purpose))]
        self.items.append(new)

    async def set(self, connector: int, cs: dict[str, Any],
                  expected: tuple[str, ...] = ("Accepted",)) -> Any:
        """SetChargingProfile; its answer must be one of `expected` (else FAIL)."""
        res = await self.case.station.call("SetChargingProfile",
                                           {"connectorId": connector, "csChargingProfiles": cs})
        check_answer(self.case, res, expected, "SetChargingProfile")
        if res.get("status") == "Accepted":
            self.note(connector, cs)
        return res

    def in_transaction(self, transaction_id: int, start_msg: Any) -> None:
        """The transaction the profiles now bear on, started when its StartTransaction says
        (Relative schedules count from there)."""
        self.transaction_id = transaction_id
        self.transaction_start = station_time(start_msg.payload.get("timestamp", "")) \
            or bench_utc_at(start_msg.mono_ns)

    def limit_now(self, connector: int, unit: str = "A",
                  at: dt.datetime | None = None) -> float | None:
        """The limit in force (in `unit`) by the bench's own reckoning."""
        at = at or dt.datetime.now(dt.UTC)
        chosen = applicable(self.items, connector, self.transaction_id)
        return limit_at(chosen, at, self.transaction_start or at, unit,
                        float(self.case.setting("ev_voltage_v")))


@contextlib.asynccontextmanager
async def installed_profiles(case: Case) -> AsyncIterator[Profiles]:
    """Profiles the case installs; every charging profile is cleared at the end (a profile
    left behind would limit the next case)."""
    profiles = Profiles(case)
    try:
        yield profiles
    finally:
        with contextlib.suppress(Exception):
            await case.station.call("ClearChargingProfile", {})


def reaction_s(case: Case) -> float:
    try:
        return float(case.setting("charging_profile_reaction_s"))
    except KeyError:
        raise BenchFault("the rig declares no [pics] charging_profile_reaction_s: the reaction "
                         "of the output to a limit cannot be judged") from None


@dataclass(frozen=True)
class Output:
    """One reading of connector n's DC output and how far it lies above a limit, in A."""

    current_a: float
    power_w: float
    source: str

    def excess_a(self, limit: float, unit: str, nominal_v: float) -> float:
        """Reading - limit in A; a limit in W through the measured voltage (I = P / U), or
        `nominal_v` while nothing flows (no voltage to measure)."""
        if unit == "A":
            return self.current_a - limit
        volts = self.power_w / self.current_a if self.current_a > 0 else 0.0
        return (self.power_w - limit) / (volts if volts > 0 else nominal_v)

    def shown(self, unit: str) -> str:
        return f"{self.current_a:.2f} A" if unit == "A" else \
            f"{self.power_w:.0f} W ({self.current_a:.2f} A)"


async def read_output(case: Case, n: int) -> Output:
    """Connector n's output: the reference meter's if one sits there (it measures the DC
    output), else the EV emulator's measured voltage and current."""
    meter = instrument_on(case, "meter", n)
    if meter is not None:
        r = await case.bench.meter_read(n)
        return Output(r.current_a, r.power_w, f"reference meter {meter!r}")
    ev = instrument_on(case, "ev", n)
    s = await case.bench.ev_state(n)
    return Output(s.measured_current_a, s.measured_voltage_v * s.measured_current_a,
                  f"EV emulator {ev!r}")


async def follows_limit(case: Case, profiles: Profiles, n: int, *, since_ns: int, why: str,
                        extra_s: float = 0.0, unit: str = "A") -> float:
    """The output on connector n falls to at most the limit in force (+ the
    `limit_tolerance_a` setting; a limit in W compared as power, its excess in A through the
    measured voltage) within the declared reaction time of `since_ns` (+ extra_s), still
    delivers energy, then stays under it for `limit_hold_s`. Records the reaction time and
    the limit errors; returns the limit it judged."""
    limit = profiles.limit_now(n, unit)
    if limit is None:
        raise BenchFault(f"{why}: no installed profile limits connector {n} now")
    tolerance = float(case.setting("limit_tolerance_a"))
    poll_s = float(case.setting("current_poll_s"))
    nominal_v = float(case.setting("ev_voltage_v"))
    within = reaction_s(case) + extra_s
    deadline = since_ns + int(within * 1e9)
    reading = Output(float("nan"), float("nan"), "no reading")
    settled_ns = None
    with case.waiting(f"output at most {limit:g} {unit} on connector {n}", within):
        while True:
            reading = await read_output(case, n)
            stamp = time.monotonic_ns()
            if reading.excess_a(limit, unit, nominal_v) <= tolerance:
                settled_ns = stamp
                break
            if stamp >= deadline:
                break
            await asyncio.sleep(poll_s)
    what = "current" if unit == "A" else "power"
    case.check(settled_ns is not None,
               f"output {what} at most {limit:g} {unit} (+{tolerance:g} A) on connector {n} "
               f"({reading.source}) within {within:g} s of {why}",
               f"delivered {reading.shown(unit)} "
               f"{(time.monotonic_ns() - since_ns) / 1e9:.1f} s after it")
    assert settled_ns is not None
    profiles.reactions.times_s.append(max(0.0, (settled_ns - since_ns) / 1e9))
    profiles.reactions.evidence.append(f"{why}: {limit:g} {unit}")
    await hold_under(case, profiles, n, limit, unit, reading.source)
    return limit


async def hold_under(case: Case, profiles: Profiles, n: int, limit: float, unit: str,
                     source: str) -> None:
    """Sample the limit error for `limit_hold_s`; energy must still flow (inference: the EV
    asks for more than the limit, so a station that follows it delivers the limit, not
    nothing; OCPP 1.6 calls the limit a maximum)."""
    hold = float(case.setting("limit_hold_s"))
    poll_s = float(case.setting("current_poll_s"))
    end = time.monotonic() + hold
    readings: list[Output] = []
    while time.monotonic() < end:
        readings.append(await read_output(case, n))
        await asyncio.sleep(poll_s)
    nominal_v = float(case.setting("ev_voltage_v"))
    profiles.reactions.errors_a.extend(r.excess_a(limit, unit, nominal_v) for r in readings)
    threshold = float(case.setting("current_threshold_a"))
    most = max(r.current_a for r in readings)
    case.check(most > threshold,
               f"energy to keep flowing under the {limit:g} {unit} limit on connector {n} "
               f"({source}) (inference: the EV asks for "
               f"{float(case.setting('ev_current_a')):g} A)",
               f"delivered at most {most:.2f} A over {hold:g} s")


async def follows_boundary(case: Case, profiles: Profiles, n: int, boundary: dt.datetime,
                           why: str) -> float:
    """At a period boundary (bench UTC) the output follows the new limit; the wait adds
    `max_time_deviation_s` (the station times the boundary by its own clock)."""
    wait = (boundary - dt.datetime.now(dt.UTC)).total_seconds()
    if wait > 0:
        with case.waiting(f"the period boundary ({why})", wait):
            await asyncio.sleep(wait)
    since = time.monotonic_ns() - int(max(0.0, -wait) * 1e9)
    return await follows_limit(case, profiles, n, since_ns=since, why=why,
                               extra_s=float(case.setting("max_time_deviation_s")))


async def check_composite(case: Case, profiles: Profiles, n: int, duration_s: int,
                          unit: str = "A") -> Any:
    """GetCompositeSchedule(n, duration, unit) -> Accepted, for connector n, the duration
    asked, scheduleStart at the request time (± max time deviation), and the periods the bench
    computes from the profiles it installed."""
    sent_utc = dt.datetime.now(dt.UTC)
    res = await case.station.call("GetCompositeSchedule", {"connectorId": n,
                                                           "duration": duration_s,
                                                           "chargingRateUnit": unit})
    check_answer(case, res, "Accepted", "GetCompositeSchedule")
    schedule = res.get("chargingSchedule") or {}
    case.check(res.get("connectorId") == n, f"GetCompositeSchedule.conf connectorId {n}",
               f"answered connectorId {res.get('connectorId')!r}", at=res.answered_mono_ns)
    case.check(bool(schedule), "GetCompositeSchedule.conf with a chargingSchedule",
               "answered none", at=res.answered_mono_ns)
    case.check(schedule.get("duration") == duration_s,
               f"a composite schedule of duration {duration_s} s",
               f"answered duration {schedule.get('duration')!r}", at=res.answered_mono_ns)
    start_text = res.get("scheduleStart") or schedule.get("startSchedule")
    start = station_time(start_text) if start_text else None
    case.check(start is not None, "GetCompositeSchedule.conf scheduleStart",
               f"answered {start_text!r}", at=res.answered_mono_ns)
    assert start is not None
    profiles.reactions.start_offsets_s.append(abs((start - sent_utc).total_seconds()))
    profiles.reactions.start_evidence.extend(res.frame_seqs)
    expected = composite_schedule(profiles.items, n, start, duration_s, unit,
                                  transaction_id=profiles.transaction_id,
                                  transaction_start=profiles.transaction_start,
                                  volts=float(case.setting("ev_voltage_v")))
    result = compare_composite(expected, schedule,
                               float(case.setting("schedule_period_tolerance_s")))
    got = ", ".join(f"{p.get('startPeriod')} s: {p.get('limit')}"
                    for p in schedule.get("chargingSchedulePeriod", []))
    case.check(result.ok, f"the composite schedule the bench computes from the installed "
               f"profiles ({describe_expected(expected)})",
               f"answered {got} {schedule.get('chargingRateUnit')}: "
               f"{'; '.join(result.mismatches[:3])} (seq {res.frame_seqs[1]})",
               at=res.answered_mono_ns)
    if result.unlimited:
        case.passed(f"no installed profile limits {len(result.unlimited)} probe(s) from "
                    f"{result.unlimited[0]}: the station's value there is not judged "
                    "(OCPP 1.6 leaves it to the station)")
    return res


def check_refused(case: Case, res: Any, what: str) -> None:
    """`what`.conf Rejected, or CALLERROR PropertyConstraintViolation: OCTT accepts either for
    a profile the station must not take (TC_058_1, TC_060)."""
    if res.error is not None:
        case.check(res.error.code == "PropertyConstraintViolation",
                   f"{what}.conf status Rejected or CALLERROR PropertyConstraintViolation",
                   f"answered CALLERROR {res.error.code} (seq {res.frame_seqs[1]})",
                   at=res.answered_mono_ns)
        return
    check_answer(case, res, "Rejected", what)

"""OCPP 1.6 ChargingProfile / ChargingSchedule (§7.8, §7.13) as the bench reads them, and the
limit one profile sets at an instant.

A profile's schedule starts (§7.13 chargingProfileKind):
- Absolute: at chargingSchedule.startSchedule (when left out: when it was installed, an
  inference: the text requires startSchedule for Absolute and says nothing else);
- Recurring: at startSchedule repeated every day (Daily) or week (Weekly); the latest
  repetition at or before the instant counts; before the first one the profile sets nothing;
- Relative: at the start of the transaction; without one (a GetCompositeSchedule on an idle
  connector) at the start of the composite schedule (inference: what a transaction starting
  now would get).
Outside [validFrom, validTo), before the first period's startPeriod and after the schedule's
duration a profile sets no limit (a lower stack level or another purpose then decides).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
UNITS = ("A", "W")
RECURRENCY_S = {"Daily": 86_400, "Weekly": 7 * 86_400}


class ProfileError(ValueError):
    """A charging profile the bench cannot read; the message names the field."""


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    start_s: int  # startPeriod: seconds from the schedule's start
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    profile_id: int
    connector_id: int  # where it was installed (0 = the whole Charge Point)
    stack_level: int
    purpose: str
    kind: str
    unit: str
    periods: tuple[SchedulePeriod, ...]
    start_schedule: dt.datetime | None = None
    duration_s: int | None = None
    recurrency: str | None = None
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    transaction_id: int | None = None
    min_charging_rate: float | None = None
    installed_at: dt.datetime | None = None

    @classmethod
    def from_ocpp(cls, cs: dict[str, Any], connector_id: int,
                  installed_at: dt.datetime | None = None) -> ChargingProfile:
        """From SetChargingProfile.req csChargingProfiles (or RemoteStart's chargingProfile)."""
        try:
            schedule = cs["chargingSchedule"]
            periods = tuple(sorted(
                (SchedulePeriod(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
                 for p in schedule["chargingSchedulePeriod"]), key=lambda p: p.start_s))
            profile = cls(
                profile_id=int(cs["chargingProfileId"]), connector_id=int(connector_id),
                stack_level=int(cs["stackLevel"]), purpose=cs["chargingProfilePurpose"],
                kind=cs["chargingProfileKind"], unit=schedule["chargingRateUnit"],
                periods=periods, start_schedule=parse_time(schedule.get("startSchedule")),
                duration_s=schedule.get("duration"), recurrency=cs.get("recurrencyKind"),
                valid_from=parse_time(cs.get("validFrom")),
                valid_to=parse_time(cs.get("validTo")),
                transaction_id=cs.get("transactionId"),
                min_charging_rate=schedule.get("minChargingRate"), installed_at=installed_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"charging profile {cs.get('chargingProfileId')!r}: "
                               f"unreadable ({type(exc).__name__}: {exc})") from None
        for name, value, allowed in (("chargingProfilePurpose", profile.purpose, PURPOSES),
                                     ("chargingProfileKind", profile.kind, KINDS),
                                     ("chargingRateUnit", profile.unit, UNITS)):
            if value not in allowed:
                raise ProfileError(f"charging profile {profile.profile_id}: {name} {value!r}: "
                                   f"must be one of {', '.join(allowed)}")
        if profile.kind == "Recurring" and profile.recurrency not in RECURRENCY_S:
            raise ProfileError(f"charging profile {profile.profile_id}: Recurring needs "
                               f"recurrencyKind Daily or Weekly, not {profile.recurrency!r}")
        if profile.kind == "Recurring" and profile.start_schedule is None:
            raise ProfileError(f"charging profile {profile.profile_id}: Recurring needs "
                               "startSchedule")
        return profile

    def schedule_start(self, at: dt.datetime, relative_start: dt.datetime) -> dt.datetime | None:
        """Where the schedule instance in force at `at` began (None: none yet)."""
        if self.kind == "Relative":
            return relative_start
        first = self.start_schedule or self.installed_at
        if first is None:
            return None
        if self.kind == "Absolute":
            return first
        period = RECURRENCY_S[str(self.recurrency)]
        elapsed = (at - first).total_seconds()
        if elapsed < 0:
            return None
        return first + dt.timedelta(seconds=(elapsed // period) * period)

    def limit_at(self, at: dt.datetime, relative_start: dt.datetime) -> SchedulePeriod | None:
        """The period in force at `at` (None: this profile sets no limit then)."""
        if self.valid_from is not None and at < self.valid_from:
            return None
        if self.valid_to is not None and at >= self.valid_to:
            return None
        start = self.schedule_start(at, relative_start)
        if start is None:
            return None
        elapsed = (at - start).total_seconds()
        if elapsed < 0 or (self.duration_s is not None and elapsed >= self.duration_s):
            return None
        current = None
        for period in self.periods:
            if period.start_s <= elapsed:
                current = period
        return current

    def edges(self, start: dt.datetime, end: dt.datetime,
              relative_start: dt.datetime) -> list[dt.datetime]:
        """Every instant in [start, end) where this profile's limit may change."""
        out = [t for t in (self.valid_from, self.valid_to) if t is not None]
        instances: list[dt.datetime] = []
        if self.kind == "Recurring":
            period = dt.timedelta(seconds=RECURRENCY_S[str(self.recurrency)])
            first = self.schedule_start(start, relative_start) or self.start_schedule
            t = first
            while t is not None and t < end:
                instances.append(t)
                t += period
        else:
            first = self.schedule_start(start, relative_start)
            if first is not None:
                instances.append(first)
        for s in instances:
            out += [s + dt.timedelta(seconds=p.start_s) for p in self.periods]
            if self.duration_s is not None:
                out.append(s + dt.timedelta(seconds=self.duration_s))
        return [t for t in out if start <= t < end]


def parse_time(text: Any) -> dt.datetime | None:
    """An OCPP dateTime as an aware datetime; None when absent."""
    if text is None:
        return None
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

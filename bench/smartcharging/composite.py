"""The composite schedule the bench expects, computed from the profiles it installed.

OCPP 1.6 §3.13: within one purpose the profile with the highest stackLevel that sets a limit
at an instant prevails (§3.13.2 stacking); a TxProfile overrules the TxDefaultProfile for the
transaction it belongs to (§3.13.1); the ChargePointMaxProfile caps the sum (§3.13.1). So at
every instant: limit = min(ChargePointMax, TxProfile if it sets one else TxDefaultProfile).
Inferences, said as such in docs/checks.md:
- a TxDefaultProfile installed on the connector itself wins over one on connector 0 at the
  same stackLevel (the more specific one);
- a TxProfile that sets nothing at an instant (its duration is over) leaves the instant to
  the TxDefaultProfile;
- on connector 0 only the ChargePointMaxProfile counts (the station's own limit);
- a stretch no profile limits has no expected value (Step.limit None): OCPP 1.6 leaves what
  the station reports there to the station.

This is a breakpoint computation (every instant where some profile's limit may change); the
simulated station computes its own by sampling (sim/station/smartcharging.py): two
independent implementations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bench.smartcharging.profiles import ChargingProfile


@dataclass(frozen=True, slots=True)
class Step:
    start_s: float  # from the composite's start
    limit: float | None  # None: no installed profile limits this stretch


@dataclass(frozen=True, slots=True)
class Composite:
    start: dt.datetime
    duration_s: int
    unit: str
    steps: tuple[Step, ...]

    def limit_at(self, offset_s: float) -> float | None:
        """The expected limit `offset_s` seconds after the start."""
        current = None
        for step in self.steps:
            if step.start_s <= offset_s:
                current = step.limit
        return current


def applicable(profiles: Iterable[ChargingProfile], connector_id: int,
               transaction_id: int | None) -> list[ChargingProfile]:
    """The profiles that bear on `connector_id` (with its transaction, if any)."""
    out = []
    for p in profiles:
        if p.purpose == "ChargePointMaxProfile":
            ok = p.connector_id == 0
        elif connector_id == 0:
            ok = False
        elif p.purpose == "TxDefaultProfile":
            ok = p.connector_id in (0, connector_id)
        else:  # TxProfile: only with the transaction it was given for
            ok = (p.connector_id == connector_id and transaction_id is not None
                  and p.transaction_id in (None, transaction_id))
        if ok:
            out.append(p)
    return out


def _prevailing(profiles: list[ChargingProfile], purpose: str, at: dt.datetime,
                relative_start: dt.datetime, unit: str, volts: float | None) -> float | None:
    ranked = sorted((p for p in profiles if p.purpose == purpose),
                    key=lambda p: (p.stack_level, p.connector_id != 0), reverse=True)
    for p in ranked:
        period = p.limit_at(at, relative_start)
        if period is not None:
            return convert(period.limit, p.unit, unit, volts)
    return None


def convert(value: float, from_unit: str, to_unit: str, volts: float | None) -> float:
    """A limit in the composite's unit. DC: P = U x I with U the output voltage."""
    if from_unit == to_unit:
        return value
    if not volts:
        raise ValueError(f"a limit in {from_unit} in a composite schedule in {to_unit} needs "
                         "the output voltage")
    return value * volts if to_unit == "W" else value / volts


def limit_at(profiles: list[ChargingProfile], at: dt.datetime, relative_start: dt.datetime,
             unit: str, volts: float | None = None) -> float | None:
    """The combined limit at `at` of profiles already filtered by `applicable`."""
    cp_max = _prevailing(profiles, "ChargePointMaxProfile", at, relative_start, unit, volts)
    tx = _prevailing(profiles, "TxProfile", at, relative_start, unit, volts)
    base = tx if tx is not None else _prevailing(profiles, "TxDefaultProfile", at,
                                                 relative_start, unit, volts)
    values = [v for v in (cp_max, base) if v is not None]
    return min(values) if values else None


def composite_schedule(profiles: Iterable[ChargingProfile], connector_id: int,
                       start: dt.datetime, duration_s: int, unit: str | None = None, *,
                       transaction_id: int | None = None,
                       transaction_start: dt.datetime | None = None,
                       volts: float | None = None) -> Composite:
    """The composite schedule of `connector_id` from `start` for `duration_s` seconds in `unit`
    (default: the unit of the first applicable profile, else A)."""
    chosen = applicable(profiles, connector_id, transaction_id)
    unit = unit or (chosen[0].unit if chosen else "A")
    end = start + dt.timedelta(seconds=duration_s)
    relative_start = transaction_start or start
    edges = {start}
    for p in chosen:
        edges.update(p.edges(start, end, relative_start))
    steps: list[Step] = []
    for t in sorted(edges):
        value = limit_at(chosen, t, relative_start, unit, volts)
        if not steps or steps[-1].limit != value:
            steps.append(Step((t - start).total_seconds(), value))
    return Composite(start, duration_s, unit, tuple(steps))

"""Pre-flight: identify every instrument of the rig before the campaign, as `bench check` does
(read-only: open, identify, read the error queue, close; nothing on the rig changes).

An instrument that does not answer ends the run before any case with an ERROR naming each
such instrument, its driver and its address: the bench could not judge (exit 3), and the
station was never touched. The enrolment card reader (`pcsc-reader`) is only reported: a
campaign never uses it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.config.rig import Rig

NOT_NEEDED_BY_CAMPAIGNS = ("pcsc-reader",)  # enrolment only


@dataclass
class InstrumentCheck:
    name: str
    driver: str
    address: str
    ok: bool
    identity: str | None = None
    error: str | None = None
    needed: bool = True  # does the campaign need it?
    warning: str | None = None  # answered, but some cases will not be able to use it

    def line(self) -> str:
        """For the console: state, name, driver and what it said (errors name the
        instrument and its address)."""
        state = "ok  " if self.ok else ("FAIL" if self.needed else "warn")
        if self.ok:
            warning = f"\n     warning: {self.warning}" if self.warning else ""
            return (f"{state} {self.name:<10} {self.driver:<12} {self.address}: "
                    f"{self.identity}{warning}")
        unneeded = "" if self.needed else " (not needed by a campaign)"
        return f"{state} {self.name:<10} {self.driver:<12} {self.problem()}{unneeded}"

    def problem(self) -> str:
        """What went wrong, naming the instrument and its address."""
        error = self.error or "no answer"
        if error.startswith(f"{self.name} at "):
            return error
        return f"{self.name} at {self.address}: {error}"


@dataclass
class Preflight:
    checks: list[InstrumentCheck] = field(default_factory=list)
    seconds: float = 0.0  # how long identifying every instrument took

    @property
    def failed(self) -> list[InstrumentCheck]:
        """The instruments the campaign needs that did not answer."""
        return [c for c in self.checks if c.needed and not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line: how many did not answer, which (details: `problems`)."""
        if self.ok:
            return f"pre-flight: all {len(self.checks)} instrument(s) answered"
        return (f"pre-flight: {len(self.failed)} of {len(self.checks)} instrument(s) did not "
                f"answer ({', '.join(c.name for c in self.failed)}); no case was run")

    def problems(self) -> str:
        return "; ".join(c.problem() for c in self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks],
                "failed": [c.name for c in self.failed], "seconds": self.seconds}


async def run_preflight(rig: Rig) -> Preflight:
    """Identify every instrument of `rig` (the one with the simulated rig's actual ports)."""
    from bench.commands.check import check_rig  # `bench check`'s own identification

    out = Preflight()
    started = time.monotonic()
    rows = await check_rig(rig)
    out.seconds = round(time.monotonic() - started, 3)
    for row in rows:
        out.checks.append(InstrumentCheck(
            name=str(row["name"]), driver=str(row["driver"]), address=str(row["address"]),
            ok=bool(row.get("ok")), identity=row.get("identity"), error=row.get("error"),
            needed=row["driver"] not in NOT_NEEDED_BY_CAMPAIGNS, warning=row.get("warning")))
    return out

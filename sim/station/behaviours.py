"""Named behaviour profiles: conformant but unusual ways a real station may behave.

The counterpart of the fault profiles (faults.py): a fault breaks the OCPP text and the cases
in its `affects` must FAIL; a behaviour is something the text allows that the default
simulator does not do, and the cases in its `passes` must still PASS with it
(tests/test_behaviours_station.py). `allowed_by` quotes the clause that permits it, so that a
bench check which fails such a station is shown to judge the simulator, not the text.

Add a behaviour: one Behaviour below, the station code behind `st.behaves(name)`, and the
cases it must pass. `bench sim --behaviour NAME`, `bench run --behaviour NAME` or the rig's
`[simulator] behaviours` switch it on; `bench sim --list-behaviours` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    description: str
    allowed_by: str  # the OCPP 1.6 clause (or OCTT case) that permits it
    passes: list[str] = field(default_factory=list)  # case ids that must PASS with it


_BEHAVIOURS = [
    Behaviour(
        "heartbeat_skips_and_queues",
        "idle, sends clock-aligned MeterValues of its main meter (connector 0) every "
        "ClockAlignedDataInterval and skips the Heartbeat those fall on; a Heartbeat that "
        "fell due while offline is sent at once on reconnect, and the cadence from before "
        "the cut is kept",
        "OCPP 1.6 §4.6: the Charge Point MAY skip a Heartbeat.req when another PDU was sent "
        "within the interval; §9.1 HeartbeatInterval is an interval of inactivity; nothing "
        "forbids an early Heartbeat; §9.1 ClockAlignedDataInterval is not tied to "
        "transactions and MeterValues connectorId 0 is the main meter",
        ["TC_001_CS", "TC_002_CS", "TC_035_CS"]),
]

BEHAVIOURS: dict[str, Behaviour] = {b.name: b for b in _BEHAVIOURS}


def check_behaviour_names(names: set[str] | list[str]) -> set[str]:
    """The given names as a set; an unknown name raises ValueError listing the known ones."""
    unknown = sorted(set(names) - BEHAVIOURS.keys())
    if unknown:
        raise ValueError(f"unknown station behaviour profile(s) {unknown}; known: "
                         f"{sorted(BEHAVIOURS)}")
    return set(names)


def format_behaviours() -> str:
    """One line per behaviour: name, what the station does, the cases that must pass."""
    width = max(len(n) for n in BEHAVIOURS)
    return "\n".join(
        f"{b.name:<{width}}  {b.description} [must pass: {', '.join(b.passes)}; allowed by "
        f"{b.allowed_by}]" for b in BEHAVIOURS.values())

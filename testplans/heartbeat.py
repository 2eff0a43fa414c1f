"""Heartbeats judged as OCPP 1.6 defines them: by the station's idle time.

HeartbeatInterval is an interval of inactivity (§9.1): the station sends a Heartbeat once it
has sent nothing for that long, and it MAY skip a Heartbeat when another PDU went out within
the interval (§4.6); nothing forbids an early one. So the time between two Heartbeats means
nothing when other traffic came between them. What is measured instead is every idle time:
from a PDU the station sent (a CALL of its own or its answer to one of the bench's) to the
next one, over the frames recorded at the socket; none may exceed the interval plus the
tolerance. The verdict names how many idle times it rests on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from bench.plugin import Case
from testplans.ocpp import expect

OPENED = "connection opened"


@dataclass(frozen=True, slots=True)
class IdleTime:
    """The station sent nothing from `start` to `end`: `seconds` of inactivity."""

    seconds: float
    start: str  # what the station last sent (or the connection opening)
    end: str  # what it sent next
    end_seq: int


def idle_times(pdus: list[Any], opened_ns: int | None = None) -> list[IdleTime]:
    """The idle times between consecutive PDUs (the session's StationPdu: mono_ns, seq, what);
    with opened_ns, the first one counts from the connection's opening."""
    out: list[IdleTime] = []
    if opened_ns is not None and pdus:
        first = pdus[0]
        out.append(IdleTime((first.mono_ns - opened_ns) / 1e9, OPENED, first.what, first.seq))
    for a, b in itertools.pairwise(pdus):
        out.append(IdleTime((b.mono_ns - a.mono_ns) / 1e9, a.what, b.what, b.seq))
    return out


async def idle_heartbeats(case: Case, after: int, beats: int, suffix: str = "",
                          from_opening: bool = False) -> list[Any]:
    """Wait for `beats` Heartbeats after `after` and measure `heartbeat.idle_gap<suffix>`:
    every idle time of the station from its first PDU at or after `after` (from_opening: from
    the opening of the current connection) to the last Heartbeat. Returns the Heartbeats."""
    station = case.station
    interval = float(case.setting("heartbeat_interval_s"))
    generation = station.generation
    heartbeats: list[Any] = []
    since = after
    for _ in range(beats):
        # generous: a station may skip a Heartbeat after other traffic; the idle times judge
        heartbeats.append(await expect(case, "Heartbeat", after=since,
                                       within=2 * interval + case.timeout))
        since = heartbeats[-1].mono_ns + 1
    opened = station.connected_mono_ns if from_opening else None
    if station.generation != generation:  # it reconnected meanwhile: this connection only
        after, opened = station.connected_mono_ns, station.connected_mono_ns
        case.log("idle times measured from the station's latest connection (it reconnected "
                 "while the Heartbeats were awaited)")
    start = opened if opened is not None else after
    pdus = [p for p in station.session.pdus_sent(start)
            if p.mono_ns <= heartbeats[-1].mono_ns]
    idle = idle_times(pdus, opened)
    case.measure(f"heartbeat.idle_gap{suffix}", series=[t.seconds for t in idle],
                 evidence=[p.seq for p in pdus], index=[f"{t.start} -> {t.end}" for t in idle])
    after_other = sum(1 for t in idle if t.end == "Heartbeat"
                      and t.start not in ("Heartbeat", OPENED))
    case.passed(f"{len(heartbeats)} Heartbeats; the idle-time verdict rests on {len(idle)} "
                f"idle times; {after_other} Heartbeat(s) came an interval after another PDU "
                "rather than after a Heartbeat")
    return heartbeats

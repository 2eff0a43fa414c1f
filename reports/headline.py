"""The certificate's Performance Measurement Results headline: its three rows, as it names them.

The certificate prints, per row, the PICS value and the measured value at 1 s resolution.
Beside them the report shows the bench's own figure: the statistic the limit judged, over
every sample of the measurements that stand for the row, with n and the worst case.
Which bench measurements stand for which row is the bench's reading of the certificate's
one-line definitions (the OCA's normative wording is not public): each row says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.measure import series_stats
from reports.measurements import fmt_num

CERTIFICATE_RESOLUTION_S = 1.0


@dataclass(frozen=True, slots=True)
class HeadlineSpec:
    title: str  # exactly as the certificate names the row
    pics_key: str  # the rig's [pics] value the certificate prints
    families: tuple[str, ...]  # bench measurement names; a family also covers `name.*`
    definition: str  # the certificate's description of the row
    reading: str  # how the bench measures it, and what it infers


HEADLINE: tuple[HeadlineSpec, ...] = (
    HeadlineSpec(
        "OCPP triggered function timeout", "triggered_function_timeout_s",
        ("triggered.remote_start", "triggered.remote_stop", "triggered.change_availability",
         "deauthorized.stop"),
        "The response time for when waiting for an OCPP function with its corresponding "
        "request message. (Firmware update, Diagnostics and Reboot are excluded from this "
        "measurement.)",
        "Inferred from the definition: an OCPP message to the station → the station's message "
        "that shows the function ran (RemoteStartTransaction → StartTransaction, "
        "RemoteStopTransaction → StopTransaction, ChangeAvailability → StatusNotification, "
        "StartTransaction answered Invalid → StopTransaction). Reset is a reboot and is left "
        "out as on the certificate; times to energy flow and from physical actions are listed "
        "in the groups below."),
    HeadlineSpec(
        "OCPP response timeout", "ocpp_response_timeout_s", ("ocpp.response_time",),
        "The response time for when waiting for an OCPP response message.",
        "Every CALL of the bench, all actions: CALL sent → CALLRESULT or CALLERROR received "
        "(monotonic stamps at the socket)."),
    HeadlineSpec(
        "Response time RemoteStartTransaction", "remote_start_response_s",
        ("remote_start.response_time",),
        "The response time for the RemoteStartTransaction message.",
        "RemoteStartTransaction CALL sent → its CALLRESULT received. The other reading "
        "(transaction authorization time: RemoteStartTransaction → StartTransaction) is "
        "triggered.remote_start, counted in the first row."),
)


@dataclass
class HeadlineRow:
    title: str
    pics: str  # "30 sec" or "not declared"
    measured: str  # at the certificate's resolution: "1 sec", or "not measured"
    figure: str  # the bench's own figure: statistic, n, worst case
    outcome: str  # PASS, FAIL or UNSET (no limit, or nothing measured)
    definition: str
    reading: str
    members: list[str]  # "name (case)" of every measurement counted
    judged_against: str = ""  # the limit in effect when it is not the declared PICS value


def is_member(name: str, spec: HeadlineSpec) -> bool:
    if name == spec.title:  # a plan may record the row under the certificate's own name
        return True
    return any(name == f or name.startswith(f + ".") for f in spec.families)


def members_of(measurements: list[dict[str, Any]], spec: HeadlineSpec) -> list[dict[str, Any]]:
    """The row's measurements. A run-wide series (no case) already holds the per-case samples
    of the same name, so where one exists the per-case ones are not counted twice."""
    mine = [m for m in measurements if is_member(str(m.get("name", "")), spec)]
    run_wide = {m.get("name") for m in mine if m.get("case") is None}
    return [m for m in mine if m.get("case") is None or m.get("name") not in run_wide]


def samples(m: dict[str, Any]) -> list[float]:
    values = m.get("series") or ([m["value"]] if m.get("value") is not None else [])
    out = []
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def seconds_text(value: float) -> str:
    return f"{fmt_num(value)} sec"


def at_resolution(value: float) -> str:
    """Rounded up to the certificate's 1 s: a timeout of that many seconds covers the value."""
    return seconds_text(math.ceil(value / CERTIFICATE_RESOLUTION_S) * CERTIFICATE_RESOLUTION_S)


def _declared(pics: dict[str, Any], key: str) -> float | None:
    v = pics.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def headline_row(spec: HeadlineSpec, measurements: list[dict[str, Any]],
                 pics: dict[str, Any]) -> HeadlineRow:
    declared = _declared(pics, spec.pics_key)
    members = members_of(measurements, spec)
    pooled = [(x, m) for m in members for x in samples(m)]
    row = HeadlineRow(
        spec.title, seconds_text(declared) if declared is not None else "not declared",
        "not measured", "no sample in this run", "UNSET", spec.definition, spec.reading,
        [f"{m.get('name')} ({m.get('case') or 'run'})" for m in members])
    if not pooled:
        return row
    stats = series_stats([x for x, _ in pooled])
    assert stats is not None
    stat = _judged_stat(members)
    judged = stats.get(stat)
    worst_x, worst_m = max(pooled, key=lambda p: p[0])
    where = f"{worst_m.get('case') or 'run-wide'}, {worst_m.get('name')}"
    seqs = [e for e in (worst_m.get("evidence") or []) if isinstance(e, int)][:2]
    if seqs:
        where += ", frame seq " + "/".join(str(s) for s in seqs)
    row.measured = at_resolution(judged)
    row.figure = (f"{stat} {fmt_num(judged)} s (n = {stats.n}; worst {fmt_num(worst_x)} s: "
                  f"{where})")
    outcomes = {str(m.get("outcome") or "UNSET") for m in members}
    row.outcome = "FAIL" if "FAIL" in outcomes else "PASS" if "PASS" in outcomes else "UNSET"
    highs = {float(h) for m in members
             if isinstance(h := (m.get("limits") or {}).get("high"), int | float)}
    if highs and declared is not None and highs != {declared}:
        row.judged_against = ("judged against " + ", ".join(seconds_text(h) for h in sorted(highs))
                              + " (the campaign's setting, not the declared PICS value)")
    return row


def _judged_stat(members: list[dict[str, Any]]) -> str:
    """The statistic the members' limits judge; max when they disagree or have none."""
    stats = {str((m.get("limits") or {}).get("stat") or "max") for m in members}
    return stats.pop() if len(stats) == 1 else "max"


def headline(measurements: list[dict[str, Any]], pics: Any) -> list[HeadlineRow]:
    pics = pics if isinstance(pics, dict) else {}
    return [headline_row(spec, measurements, pics) for spec in HEADLINE]


"""Run-wide measurement series, recorded once at the end of the run."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bench.plugin.context import BenchContext, Case
from bench.record.model import CASE_SAMPLES


def response_samples(ctx: BenchContext) -> list[Any]:
    """Every CALL of the bench to the station under test and its answer (the session's)."""
    session = getattr(ctx.station, "session", None)
    return session.response_samples() if session is not None else []


def record_run_series(ctx: BenchContext) -> None:
    """The response time of every CALL the bench sent, per action (socket stamps), and
    every series the cases collected (boot times, status latencies, ...)."""
    per_action: dict[str, list] = defaultdict(list)
    for s in response_samples(ctx):
        per_action[s.action].append(s)
    for action, samples in sorted(per_action.items()):
        m = ctx.build_measurement(
            f"ocpp.response_time.{action}", "s", series=[s.seconds for s in samples],
            evidence=[x for s in samples for x in (s.sent_seq, s.answer_seq)],
            index=[s.case for s in samples], attempts=[s.attempt for s in samples],
            description=f"{action}: CALL sent -> CALLRESULT/CALLERROR received, every call "
                        "of the run")
        ctx.record.measurement({**m.as_dict(), "case": None})
    for name, series in sorted(ctx.run_series.items()):
        m = ctx.build_measurement(name, series.unit, series=series.values,
                                  evidence=series.evidence, index=series.index,
                                  description=series.description, attempts=series.attempts)
        ctx.record.measurement({**m.as_dict(), "case": None})



def case_samples(ctx: BenchContext, case_id: str,
                 attempt: int | None) -> dict[str, tuple[str, list[float], list[int], str]]:
    """The samples one attempt of a case added to the run-wide series: name -> (unit,
    values, evidence, description). Response times come from the station's session."""
    out: dict[str, tuple[str, list[float], list[int], str]] = {}
    for name, s in ctx.run_series.items():
        mine = [i for i, (c, a) in enumerate(zip(s.index, s.attempts, strict=False))
                if c == case_id and a == attempt]
        if mine:
            out[name] = (s.unit, [s.values[i] for i in mine],
                         [e for i in mine for e in (s.evidence_of[i] if i < len(s.evidence_of)
                                                    else [])], s.description)
    per_action: dict[str, list] = defaultdict(list)
    for r in response_samples(ctx):
        if r.case == case_id and r.attempt == attempt:
            per_action[r.action].append(r)
    for action, samples in per_action.items():
        out[f"ocpp.response_time.{action}"] = (
            "s", [r.seconds for r in samples], [x for r in samples for x in (r.sent_seq,
                                                                             r.answer_seq)],
            f"{action}: CALL sent -> CALLRESULT/CALLERROR received")
    return out


def judge_case_samples(case: Case) -> None:
    """Judge the case's own samples of every run-wide series that has limits (status
    latencies, clock offset, response times...) as measurements of this case: a sample out
    of its limit fails the case where it was taken, not only the run-wide series."""
    measured = {m.name for m in case.measurements}
    for name, (unit, values, evidence, description) in sorted(
            case_samples(case.ctx, case.id, case.attempt).items()):
        if name in measured or case.ctx.limits.limits(name, case.ctx.settings, "") is None:
            continue  # measured by the case itself, or for information only
        case.measure(name, series=values, unit=unit, evidence=evidence,
                     description=f"{description} (this case's samples of the run-wide series)",
                     scope=CASE_SAMPLES)

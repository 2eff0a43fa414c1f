"""Run-wide measurement series, recorded once at the end of the run."""

from __future__ import annotations

from collections import defaultdict

from bench.plugin.context import BenchContext


def record_run_series(ctx: BenchContext) -> None:
    """The response time of every CALL the bench sent, per action (from the frames), and
    every series the cases collected (boot times, status latencies, ...)."""
    per_action: dict[str, list] = defaultdict(list)
    for s in ctx.tracker.response_samples():
        per_action[s.action].append(s)
    for action, samples in sorted(per_action.items()):
        m = ctx.build_measurement(
            f"ocpp.response_time.{action}", "s", series=[s.seconds for s in samples],
            evidence=[x for s in samples for x in (s.sent_seq, s.answer_seq)],
            index=[s.case for s in samples],
            description=f"{action}: CALL sent -> CALLRESULT/CALLERROR received, every call "
                        "of the run")
        ctx.record.measurement({**m.as_dict(), "case": None})
    for name, series in sorted(ctx.run_series.items()):
        m = ctx.build_measurement(name, series.unit, series=series.values,
                                  evidence=series.evidence, index=series.index,
                                  description=series.description)
        ctx.record.measurement({**m.as_dict(), "case": None})

"""The history of nights: a verdict timeline per case, a trend per measurement, and what
regressed. Pure functions of the index rows.

- A night is one run (the nightly job runs the plan once; a re-run is a night of its own).
- Flaky: a case whose verdict flipped between PASS and FAIL/ERROR at least twice in the
  window. Failing: its last verdict is FAIL/ERROR after a PASS earlier in the window.
- Trends: per measurement (case and name) the median and the worst sample of every night;
  each series gets the drift test and the change-point test of bench.history.stats, in the
  direction that is bad for it (towards the limit that is set). Significance is judged over all
  the tests of the history at once (family-wise error alpha). A significant move counts as a
  regression only when it is also larger than the unit's noise floor of `bench compare` (a
  drift of 1 ms on a 30 s limit is real but harmless) and goes the bad way; a move of a
  measurement without limits and of no time unit is shown, never counted.
- Firmware and configuration changes are the nights whose station firmware or configuration
  at start (OCPP keys and vendor settings) differ from the night before.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

from bench.history.scan import EITHER_WORSE, HIGHER_WORSE, LOWER_WORSE, UNKNOWN, MeasurementRow
from bench.history.stats import (
    BOTH,
    DOWN,
    UP,
    Significance,
    mann_kendall,
    pettitt,
    tarone_threshold,
)
from bench.history.store import HistoryRows, RunRow
from reports.compare import ABS_FLOOR, BAD_VERDICTS
from reports.measurements import fmt_num

DEFAULT_ALPHA = 0.05
MIN_NIGHTS = 3  # fewer values than this tell nothing about a trend
GOOD = "PASS"
TEST_DIRECTION = {HIGHER_WORSE: UP, LOWER_WORSE: DOWN, EITHER_WORSE: BOTH, UNKNOWN: BOTH}


@dataclass
class Night:
    index: int  # 0-based position on the rig's timeline
    run: RunRow
    changes: list[str] = field(default_factory=list)  # firmware / configuration vs the night before

    @property
    def label(self) -> str:
        return f"night {self.index + 1} ({self.run.started_utc[:16].replace('T', ' ')})"


@dataclass
class CaseTimeline:
    case_id: str
    name: str
    verdicts: list[str | None]  # per night; None: not run that night
    messages: list[str]
    flips: int = 0  # PASS <-> FAIL/ERROR changes between consecutive nights it ran
    failing_since: int | None = None  # night index of the bad streak that is still going

    @property
    def flaky(self) -> bool:
        return self.flips >= 2

    @property
    def regression(self) -> bool:
        return self.flaky or self.failing_since is not None


@dataclass
class Finding:
    kind: str  # "drift" or "change point"
    stat: str  # "median" or "worst"
    test: Significance
    size: float  # drift over the window, or the shift at the change point (unit of the series)
    reference: float  # the level the size is relative to
    night: int | None = None  # the first night after a change point
    significant: bool = False
    regression: bool = False
    threshold: float = 0.0
    text: str = ""

    @property
    def relative(self) -> float | None:
        return None if self.reference == 0 else self.size / abs(self.reference)


@dataclass
class Trend:
    case_id: str
    name: str
    unit: str
    direction: int
    nights: list[int]  # night indices that have a value
    median: list[float]
    worst: list[float]
    low: float | None
    high: float | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def regression(self) -> bool:
        return any(f.regression for f in self.findings)

    @property
    def moved(self) -> bool:
        return any(f.significant for f in self.findings)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.case_id or 'run-wide'})"


@dataclass
class RigHistory:
    rig: str
    hosts: list[str]
    nights: list[Night]
    cases: list[CaseTimeline]
    trends: list[Trend]

    @property
    def flaky(self) -> list[CaseTimeline]:
        return [c for c in self.cases if c.flaky]


@dataclass
class History:
    rigs: list[RigHistory]
    alpha: float
    tests: int = 0  # how many tests were run over all series
    threshold: float = 0.0  # the per-test p-value threshold that held the family at alpha
    regressions: list[str] = field(default_factory=list)


def analyse(rows: HistoryRows, alpha: float = DEFAULT_ALPHA) -> History:
    by_rig: dict[str, list[RunRow]] = defaultdict(list)
    for run in rows.runs:
        by_rig[run.rig].append(run)
    cases_of: dict[str, list] = defaultdict(list)
    for key, case in rows.cases:
        cases_of[key].append(case)
    measures_of: dict[str, list[MeasurementRow]] = defaultdict(list)
    for key, m in rows.measurements:
        measures_of[key].append(m)
    rigs = []
    for rig, runs in sorted(by_rig.items()):
        runs.sort(key=lambda r: (r.started_utc, r.run_key))
        nights = _nights(runs)
        rigs.append(RigHistory(rig, sorted({r.host for r in runs}), nights,
                               _timelines(nights, cases_of), _trends(nights, measures_of)))
    history = History(rigs, alpha)
    _judge(history)
    return history


def _nights(runs: list[RunRow]) -> list[Night]:
    nights = [Night(i, r) for i, r in enumerate(runs)]
    for prev, night in pairwise(nights):
        a, b = prev.run, night.run
        if a.firmware and b.firmware and a.firmware != b.firmware:
            night.changes.append(f"firmware {a.firmware} → {b.firmware}")
        if a.config_hash and b.config_hash and a.config_hash != b.config_hash:
            keys = sorted(set(a.config) | set(b.config), key=str.lower)
            diff = [f"{k} {a.config.get(k, 'absent')} → {b.config.get(k, 'absent')}"
                    for k in keys if a.config.get(k) != b.config.get(k)]
            shown = "; ".join(diff[:4]) + (f"; {len(diff) - 4} more" if len(diff) > 4 else "")
            night.changes.append(f"configuration: {shown}")
    return nights


def _timelines(nights: list[Night], cases_of: dict[str, list]) -> list[CaseTimeline]:
    timelines: dict[str, CaseTimeline] = {}
    for night in nights:
        for case in cases_of.get(night.run.run_key, []):
            t = timelines.setdefault(case.case_id, CaseTimeline(
                case.case_id, case.name, [None] * len(nights), [""] * len(nights)))
            t.verdicts[night.index] = case.verdict
            t.messages[night.index] = case.message
            t.name = t.name or case.name
    for t in timelines.values():
        judged = [(i, v) for i, v in enumerate(t.verdicts) if v == GOOD or v in BAD_VERDICTS]
        t.flips = sum(1 for (_, a), (_, b) in pairwise(judged)
                      if (a == GOOD) != (b == GOOD))
        if judged and judged[-1][1] != GOOD and any(v == GOOD for _, v in judged):
            streak = len(judged) - 1
            while streak > 0 and judged[streak - 1][1] != GOOD:
                streak -= 1
            t.failing_since = judged[streak][0]
    return sorted(timelines.values(), key=lambda t: t.case_id)


def _trends(nights: list[Night], measures_of: dict[str, list[MeasurementRow]]) -> list[Trend]:
    series: dict[tuple[str, str], Trend] = {}
    for night in nights:
        for m in measures_of.get(night.run.run_key, []):
            t = series.setdefault((m.case_id, m.name), Trend(
                m.case_id, m.name, m.unit, m.direction, [], [], [], m.low, m.high))
            t.nights.append(night.index)
            t.median.append(m.median)
            t.worst.append(m.worst)
            t.direction, t.low, t.high, t.unit = m.direction, m.low, m.high, m.unit  # latest
    for t in series.values():
        if len(t.nights) < MIN_NIGHTS:
            continue
        stats = [("median", t.median)] + ([("worst", t.worst)] if t.worst != t.median else [])
        for stat, values in stats:
            if len(set(values)) < 2:
                continue  # a constant series has nothing to test
            d = TEST_DIRECTION[t.direction]
            drift = mann_kendall(values, d)
            t.findings.append(Finding("drift", stat, drift.test, drift.slope * (len(values) - 1),
                                      statistics.median(values)))
            cp = pettitt(values, d)
            t.findings.append(Finding("change point", stat, cp.test, cp.after - cp.before,
                                      cp.before, night=t.nights[cp.index]))
    return sorted(series.values(), key=lambda t: (t.case_id, t.name))


def _judge(history: History) -> None:
    findings = [(rig, t, f) for rig in history.rigs for t in rig.trends for f in t.findings]
    history.tests = len(findings)
    history.threshold = tarone_threshold([f.test.p_min for _, _, f in findings], history.alpha)
    for rig, trend, f in findings:
        f.threshold = history.threshold
        f.significant = f.test.p <= history.threshold
        floor = ABS_FLOOR.get(trend.unit, 0.0)
        big = abs(f.size) >= floor
        f.regression = f.significant and big and _bad_way(trend, f)
        f.text = _describe(rig, trend, f, floor)
    for rig in history.rigs:
        for trend in rig.trends:
            found = [f"{f.kind}: {f.text}" for f in trend.findings if f.regression]
            if found:  # one line per measurement (a drift often shows a change point too)
                history.regressions.append(
                    f"rig {rig.rig}: measurement {trend.label}: " + " | ".join(found))
        for c in rig.cases:
            if c.flaky:
                history.regressions.append(
                    f"rig {rig.rig}: case {c.case_id} {c.name} is flaky: PASS and FAIL/ERROR "
                    f"flipped {c.flips} times over {len(rig.nights)} nights")
            if c.failing_since is not None:
                last = max(i for i, v in enumerate(c.verdicts) if v is not None)
                history.regressions.append(
                    f"rig {rig.rig}: case {c.case_id} {c.name} fails since "
                    f"{rig.nights[c.failing_since].label}: {c.verdicts[last]} "
                    f"({c.messages[last] or 'no message'})")


def _bad_way(trend: Trend, f: Finding) -> bool:
    if trend.direction == HIGHER_WORSE:
        return f.size > 0
    if trend.direction == LOWER_WORSE:
        return f.size < 0
    if trend.direction == EITHER_WORSE and trend.low is not None and trend.high is not None:
        centre = (trend.low + trend.high) / 2
        level = statistics.median(trend.median)
        return (f.size > 0) == (level > centre)  # moving away from the middle of the band
    return False  # no limit and no time unit: which way is bad is not known


def _describe(rig: RigHistory, trend: Trend, f: Finding, floor: float) -> str:
    unit, rel = trend.unit, f.relative
    pct = f" ({rel * 100:+.0f} %)" if rel is not None else ""
    if f.kind == "drift":
        n = len(trend.nights)
        text = (f"{f.stat} drifts {'up' if f.size > 0 else 'down'}: "
                f"{fmt_num(f.size / max(1, n - 1))} {unit} per night, {fmt_num(f.size)} {unit} "
                f"over {n} nights{pct}; Mann-Kendall S = {fmt_num(f.test.statistic)}, "
                f"p = {f.test.p:.2g}")
    else:
        assert f.night is not None
        night = rig.nights[f.night]
        text = (f"{f.stat} changed at {night.label}: {fmt_num(f.reference)} → "
                f"{fmt_num(f.reference + f.size)} {unit}{pct}; Pettitt K = "
                f"{fmt_num(f.test.statistic)}, p = {f.test.p:.2g}")
        if night.changes:
            text += "; that night: " + "; ".join(night.changes)
    text += f" (threshold {f.threshold:.2g})"
    if f.significant and not f.regression:
        if abs(f.size) < floor:
            text += f"; below the {fmt_num(floor)} {unit} noise floor, not counted"
        elif trend.direction == UNKNOWN:
            text += "; no limit says which way is bad, not counted"
        else:
            text += "; the good way, not counted"
    return text

"""Two runs side by side (the nightly regression view): verdicts, measurements, configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record.model import CASE_SAMPLES
from bench.record.reader import RunData
from reports.context import seen_cases
from reports.measurements import fmt_num, stats_of
from reports.redact import REDACTED, SECRET_CONFIG_KEYS
from reports.verdicts import CaseResult, judged_cases

COMPARED_STATS = ("median", "p95", "max")
DEFAULT_THRESHOLD = 0.20  # relative change of a statistic that counts as a move
# Below these absolute changes a move is noise whatever its relative size (per unit).
ABS_FLOOR = {"s": 0.05, "ms": 50.0, "Wh": 1.0, "kWh": 0.001, "W": 50.0, "V": 1.0, "A": 0.5,
             "%": 0.2}
BAD_VERDICTS = ("FAIL", "ERROR")
TIME_UNITS = ("s", "ms")


@dataclass
class CaseChange:
    case: str
    name: str
    before: str  # verdict or "absent"
    after: str
    message: str
    regression: bool


@dataclass
class StatMove:
    stat: str
    before: float
    after: float

    @property
    def relative(self) -> float | None:
        return None if self.before == 0 else (self.after - self.before) / abs(self.before)

    def describe(self, unit: str) -> str:
        rel = self.relative
        pct = f" ({rel * 100:+.0f} %)" if rel is not None else ""
        return f"{self.stat} {fmt_num(self.before)} → {fmt_num(self.after)} {unit}{pct}"


@dataclass
class MeasureChange:
    case: str | None
    name: str
    unit: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    moves: list[StatMove] = field(default_factory=list)  # beyond threshold
    bad_moves: list[StatMove] = field(default_factory=list)
    regression: bool = False
    reason: str = ""

    @property
    def outcome_before(self) -> str:
        return str((self.before or {}).get("outcome") or "absent")

    @property
    def outcome_after(self) -> str:
        return str((self.after or {}).get("outcome") or "absent")


@dataclass
class Comparison:
    run_a: str
    run_b: str
    verdict_a: str
    verdict_b: str
    threshold: float
    cases: list[CaseChange]
    measures: list[MeasureChange]
    config: list[tuple[str, str, str]]  # key, before, after
    station: list[tuple[str, str, str]]  # firmware, model ... that changed
    partial_a: bool
    partial_b: bool

    @property
    def regressions(self) -> list[str]:
        out = [f"case {c.case} {c.name}: {c.before} → {c.after}"
               + (f" ({c.message})" if c.message else "") for c in self.cases if c.regression]
        out += [f"measurement {m.name!r}" + (f" ({m.case})" if m.case else "") + f": {m.reason}"
                for m in self.measures if m.regression]
        return out


def _judged(run: RunData) -> tuple[str, list[CaseResult]]:
    """The run's verdict and its cases (run_verdict: as bench run and the report judged it);
    verdicts and measurements only: a comparison needs no frames parsed (soak runs are large)."""
    judged, cases = judged_cases(run, seen_cases(run.frames, run.events, run.measurements,
                                                 run.verdicts))
    return judged.verdict, cases


def _finals(cases: list[CaseResult]) -> dict[str, CaseResult]:
    return {c.case: c for c in cases}


def compare_cases(a: list[CaseResult], b: list[CaseResult]) -> list[CaseChange]:
    fa, fb = _finals(a), _finals(b)
    out = []
    for case in list(fa) + [c for c in fb if c not in fa]:
        va = fa[case].verdict if case in fa else "absent"
        vb = fb[case].verdict if case in fb else "absent"
        if va == vb:
            continue
        res = fb.get(case) or fa[case]
        out.append(CaseChange(case, res.name, va, vb, fb[case].message if case in fb else "",
                              regression=va == "PASS" and vb in BAD_VERDICTS))
    return out


def _bad_direction(m: dict[str, Any]) -> int:
    """+1 when an increase is bad, -1 when a decrease is, 0 when neither is known."""
    limits = m.get("limits") or {}
    if limits.get("high") is not None:
        return 1
    if limits.get("low") is not None:
        return -1
    return 1 if str(m.get("unit")) in TIME_UNITS else 0


def compare_measurements(a: list[dict[str, Any]], b: list[dict[str, Any]], threshold: float,
                         abs_floor: float | None) -> list[MeasureChange]:
    # a case's share of a run-wide series moves with the series, compared once
    ma = {(m.get("case"), m.get("name")): m for m in a if m.get("scope") != CASE_SAMPLES}
    mb = {(m.get("case"), m.get("name")): m for m in b if m.get("scope") != CASE_SAMPLES}
    out = []
    for key in list(ma) + [k for k in mb if k not in ma]:
        before, after = ma.get(key), mb.get(key)
        ref = after or before or {}
        unit = str(ref.get("unit") or "")
        ch = MeasureChange(key[0], str(key[1]), unit, before, after)
        if before is None or after is None:
            ch.reason = "only in " + ("the new run" if before is None else "the old run")
            out.append(ch)
            continue
        sa, sb = stats_of(before) or {}, stats_of(after) or {}
        floor = abs_floor if abs_floor is not None else ABS_FLOOR.get(unit, 0.0)
        direction = _bad_direction(after)
        for stat in COMPARED_STATS:
            x, y = sa.get(stat), sb.get(stat)
            if not isinstance(x, int | float) or not isinstance(y, int | float):
                continue
            delta = y - x
            if abs(delta) > max(threshold * abs(x), floor):
                move = StatMove(stat, float(x), float(y))
                ch.moves.append(move)
                if direction and delta * direction > 0:
                    ch.bad_moves.append(move)
        reasons = []
        if ch.outcome_before == "PASS" and ch.outcome_after == "FAIL":
            reasons.append("outcome PASS → FAIL")
        if ch.bad_moves:
            reasons.append(", ".join(mv.describe(unit) for mv in ch.bad_moves))
        ch.regression = bool(reasons)
        ch.reason = "; ".join(reasons) or ", ".join(mv.describe(unit) for mv in ch.moves)
        if ch.moves or ch.regression or ch.outcome_before != ch.outcome_after:
            out.append(ch)
    return out


def _config(run: RunData) -> dict[str, str]:
    snap = run.snapshots.get("station_config_end") or run.snapshots.get("station_config_start")
    if isinstance(snap, dict):
        snap = snap.get("configurationKey", [])
    out = {}
    for item in snap or []:
        if isinstance(item, dict) and "key" in item:
            key = str(item["key"])
            value = "" if item.get("value") is None else str(item["value"])
            out[key] = REDACTED if key.lower() in SECRET_CONFIG_KEYS else value
    return out


def _diff(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, str]]:
    keys = sorted(set(a) | set(b), key=str.lower)
    return [(k, a.get(k, "absent"), b.get(k, "absent")) for k in keys if a.get(k) != b.get(k)]


def _station(run: RunData) -> dict[str, str]:
    st = run.snapshots.get("station") if isinstance(run.snapshots.get("station"), dict) else {}
    fields = ("chargePointVendor", "chargePointModel", "firmwareVersion")
    out = {k: str(st.get(k)) for k in fields if st.get(k) is not None}
    for k in ("bench_version", "git_revision"):
        if run.meta.get(k):
            out[k] = str(run.meta[k])
    return out


def compare_runs(a: RunData, b: RunData, threshold: float = DEFAULT_THRESHOLD,
                 abs_floor: float | None = None) -> Comparison:
    (verdict_a, cases_a), (verdict_b, cases_b) = _judged(a), _judged(b)
    return Comparison(
        run_a=str(a.meta.get("id") or a.path.name), run_b=str(b.meta.get("id") or b.path.name),
        verdict_a=verdict_a, verdict_b=verdict_b, threshold=threshold,
        cases=compare_cases(cases_a, cases_b),
        measures=compare_measurements(a.measurements, b.measurements, threshold, abs_floor),
        config=_diff(_config(a), _config(b)),
        station=_diff(_station(a), _station(b)),
        partial_a=a.partial, partial_b=b.partial,
    )


def terminal_summary(cmp: Comparison, html_path: Path | None) -> str:
    lines = [f"bench compare: {cmp.run_a} ({cmp.verdict_a}) → {cmp.run_b} ({cmp.verdict_b})"]
    for label, partial in (("old", cmp.partial_a), ("new", cmp.partial_b)):
        if partial:
            lines.append(f"  note: the {label} run is partial (cut off)")
    for r in cmp.regressions:
        lines.append(f"  REGRESSION  {r}")
    for c in cmp.cases:
        if not c.regression:
            lines.append(f"  changed     case {c.case}: {c.before} → {c.after}")
    for m in cmp.measures:
        if not m.regression:
            lines.append(f"  moved       measurement {m.name!r}: {m.reason}")
    for k, x, y in cmp.station:
        lines.append(f"  station     {k}: {x} → {y}")
    for k, x, y in cmp.config:
        lines.append(f"  config      {k}: {x} → {y}")
    n = len(cmp.regressions)
    lines.append(f"{n} regression(s)" if n else "no regression")
    if html_path:
        lines.append(f"comparison: {html_path}")
    return "\n".join(lines)

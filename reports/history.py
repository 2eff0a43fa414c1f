"""history.html: the history of nights, self-contained (inline SVG, no script, no network).

Per rig: the nights (with the firmware and configuration changes), a verdict timeline of every
case across the nights (flaky ones named), and a trend plot per measurement (median and worst
per night, its limit, the change nights marked on every plot, the drift fit and the change point
where a test found one), regressions first.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from bench.history.trends import Finding, History, Night, RigHistory, Trend
from reports.html import environment
from reports.svg import Chart, HLine, Series, VLine, render_chart
from reports.text import markup_text

VERDICT_COLORS = {"PASS": "#4c9a4c", "FAIL": "#c0392b", "ERROR": "#e08a1e", "N/A": "#c8c8c8",
                  "BLOCKED": "#8e5ea2", "INCOMPLETE": "#e6c700"}
NOT_RUN = "#ffffff"
CHANGE_COLOR, CHANGE_POINT_COLOR = "#6a2c79", "#d9822b"
CELL_TITLES_UP_TO = 60  # nights; beyond, a tooltip per cell would only bloat the page


@dataclass
class TrendView:
    trend: Trend
    svg: Markup
    findings: list[Finding]


@dataclass
class RigView:
    rig: RigHistory
    timeline: Markup
    trends: list[TrendView]  # regressions first, then what moved, then the rest
    changes: list[Night]


def change_marks(nights: list[Night]) -> list[VLine]:
    marks = []
    for night in nights:
        for change in night.changes:
            word = change.split(":", 1)[0] if change.startswith("configuration") else change
            marks.append(VLine(night.index + 1, word, CHANGE_COLOR))
    return marks


def trend_chart(rig: RigHistory, t: Trend) -> Markup:
    xs = [float(i + 1) for i in t.nights]
    series = [Series("median per night", xs, t.median, "line")]
    if t.worst != t.median:
        series.append(Series("worst per night", xs, t.worst, "line"))
    vlines = change_marks(rig.nights)
    for f in t.findings:
        if not f.significant:
            continue
        values = t.median if f.stat == "median" else t.worst
        if f.kind == "drift":
            slope = f.size / max(1, len(values) - 1)
            intercept = statistics.median(v - slope * i for i, v in enumerate(values))
            series.append(Series(f"drift fit ({f.stat})", xs,
                                 [intercept + slope * i for i in range(len(values))], "line",
                                 "#a23b72"))
        elif f.night is not None:
            vlines.append(VLine(f.night + 1, f"change point ({f.stat})", CHANGE_POINT_COLOR))
    top = max(max(t.median), max(t.worst))
    # a limit far above the data would flatten it to a line: it is named in the title instead
    shown = [(k, v) for k, v in (("low", t.low), ("high", t.high))
             if v is not None and v <= max(2 * top, top + 1e-9)]
    far = [f"{k} {v:g} {t.unit}" for k, v in (("low", t.low), ("high", t.high))
           if v is not None and (k, v) not in shown]
    title = t.label + (f" (limit {', '.join(far)}, off the scale)" if far else "")
    hlines = [HLine(v, f"{k} {v:g} {t.unit}") for k, v in shown]
    return render_chart(Chart(title, "night", t.unit, series, hlines, vlines=vlines))


def timeline_svg(rig: RigHistory) -> Markup:
    """One row per case, one cell per night, coloured by the verdict."""
    n = max(1, len(rig.nights))
    left, top, row_h = 170, 24, 14
    cell = max(1.5, min(16.0, 820 / n))
    width = int(left + cell * n + 20)
    height = top + row_h * max(1, len(rig.cases)) + 28
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="Verdict timeline of rig {markup_text(rig.rig)}">',
             f'<text x="8" y="16" class="ct">Verdicts per case and night, rig '
             f'{markup_text(rig.rig)}</text>']
    titles = n <= CELL_TITLES_UP_TO
    for row, case in enumerate(rig.cases):
        y = top + row * row_h
        label = ("⚠ " if case.regression else "") + case.case_id
        parts.append(f'<text x="{left - 6}" y="{y + 11}" class="yt">{markup_text(label)}</text>')
        for i, v in enumerate(case.verdicts):
            color = VERDICT_COLORS.get(v or "", NOT_RUN) if v else NOT_RUN
            tip = (f"<title>{markup_text(case.case_id)}, {markup_text(rig.nights[i].label)}: "
                   f"{markup_text(v or 'not run')} {markup_text(case.messages[i][:120])}</title>"
                   if titles else "")
            parts.append(f'<rect x="{left + i * cell:.1f}" y="{y + 1}" width="{cell:.2f}" '
                         f'height="{row_h - 2}" fill="{color}" stroke="#e4e4e4" '
                         f'stroke-width="0.3">{tip}</rect>')
    for mark in change_marks(rig.nights):
        x = left + (mark.x - 1) * cell
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2}" y2="{height - 26}" '
                     f'stroke="{CHANGE_COLOR}" stroke-width="1.5" stroke-dasharray="3 2"/>')
    legend_y = height - 8
    for k, (verdict, color) in enumerate(VERDICT_COLORS.items()):
        parts.append(f'<rect x="{left + k * 90}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{color}"/><text x="{left + k * 90 + 14}" y="{legend_y}" '
                     f'class="lg">{markup_text(verdict)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rig_view(rig: RigHistory) -> RigView:
    order = sorted(rig.trends, key=lambda t: (not t.regression, not t.moved, t.case_id, t.name))
    views = [TrendView(t, trend_chart(rig, t), [f for f in t.findings if f.significant])
             for t in order if len(t.nights) > 0]
    return RigView(rig, timeline_svg(rig), views, [n for n in rig.nights if n.changes])


def render_history(history: History, *, database: str, since: str, runs_dirs: list[str],
                   generated_utc: str) -> str:
    return environment().get_template("history.html.j2").render(
        h=history, rigs=[rig_view(r) for r in history.rigs], database=database, since=since,
        runs_dirs=runs_dirs, generated_utc=generated_utc)


def write_history(history: History, target: Path, **kwargs: object) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_text(render_history(history, **kwargs), "utf-8")  # type: ignore[arg-type]
    partial.replace(target)
    return target

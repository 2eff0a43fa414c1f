"""Small inline-SVG charts drawn by our own code: no script, no network, opens anywhere.

Every text put into the SVG is escaped here, because labels may come from the station.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from markupsafe import Markup

from reports.text import markup_text as esc  # visible, then escaped

PALETTE = ("#1f5fa8", "#d9822b", "#2e8540", "#a23b72", "#6b6b6b", "#b8a000")
MAX_POINTS = 600  # per series: a 24-hour series is bucketed down to this


@dataclass
class Series:
    name: str
    xs: list[float]
    ys: list[float]
    style: str = "line"  # "line", "points", "steps" or "ranges" (a bar lo..hi through each y)
    color: str | None = None
    lo: list[float] | None = None  # "ranges": the bar's ends, one per point
    hi: list[float] | None = None


@dataclass
class HLine:
    y: float
    label: str
    color: str = "#c0392b"


@dataclass
class VLine:
    """A marked instant on the x axis (e.g. the night the firmware changed)."""

    x: float
    label: str
    color: str = "#6a2c79"


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)
    hlines: list[HLine] = field(default_factory=list)
    note: str = ""
    vlines: list[VLine] = field(default_factory=list)


def downsample_indices(ys: list[float], limit: int = MAX_POINTS) -> list[int]:
    """Which points to keep: the min and max of each bucket, so spikes survive the reduction."""
    n = len(ys)
    if n <= limit:
        return list(range(n))
    buckets = limit // 2
    size = n / buckets
    keep: list[int] = []
    for b in range(buckets):
        lo, hi = int(b * size), min(n, int((b + 1) * size))
        if lo >= hi:
            continue
        seg = range(lo, hi)
        keep += sorted({min(seg, key=ys.__getitem__), max(seg, key=ys.__getitem__)})
    return keep


def downsample(xs: list[float], ys: list[float], limit: int = MAX_POINTS) -> tuple[list, list]:
    keep = downsample_indices(ys, limit)
    return [xs[i] for i in keep], [ys[i] for i in keep]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def tick_label(v: float) -> str:
    if abs(v) >= 1e4 or (v and abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:g}"


LEGEND_ROW_H = 14
CHAR_W = 6.2  # the legend's 11 px sans-serif, wide enough for DejaVu Sans


@dataclass
class _Drawn:
    """A series as drawn: its kept points (and bars) and its colour."""

    series: Series
    xs: list[float]
    ys: list[float]
    lo: list[float]
    hi: list[float]
    color: str


def _drawn(chart: Chart) -> list[_Drawn]:
    out = []
    for i, s in enumerate(s for s in chart.series if s.xs):
        keep = downsample_indices(s.ys)
        ranged = s.style == "ranges" and s.lo is not None and s.hi is not None
        out.append(_Drawn(s, [s.xs[k] for k in keep], [s.ys[k] for k in keep],
                          [s.lo[k] for k in keep] if ranged and s.lo else [],
                          [s.hi[k] for k in keep] if ranged and s.hi else [],
                          s.color or PALETTE[i % len(PALETTE)]))
    return out


def legend_layout(names: list[str], x_start: float, x_end: float) -> list[tuple[float, int]]:
    """(x, row) of each legend entry, flowing left to right and wrapping inside the plot's
    width, so that no entry is cut or drawn over another however many series there are."""
    out, x, row = [], x_start, 0
    for name in names:
        w = 14 + CHAR_W * len(name) + 14
        if x > x_start and x + w > x_end:
            x, row = x_start, row + 1
        out.append((x, row))
        x += w
    return out


def render_chart(chart: Chart, width: int = 760, height: int = 260) -> Markup:
    drawn = _drawn(chart)
    names = [d.series.name[:60] for d in drawn]
    left, right, bottom = 64, 16, 44
    legend = legend_layout(names, left, width - right)
    rows = 1 + max((r for _, r in legend), default=0)
    top = 22 + LEGEND_ROW_H * rows  # the legend sits above the plot, never over the data
    height += LEGEND_ROW_H * (rows - 1)
    pw, ph = width - left - right, height - top - bottom
    all_x = [x for d in drawn for x in d.xs]
    all_y = [y for d in drawn for y in (*d.ys, *d.lo, *d.hi)] + [h.y for h in chart.hlines]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
             f' width="{width}" height="{height}" role="img" aria-label="{esc(chart.title)}">',
             f'<text x="{left}" y="16" class="ct">{esc(chart.title)}</text>']
    if not all_x:
        parts.append(f'<text x="{left}" y="{top + ph / 2}">no data</text></svg>')
        return Markup("".join(parts))
    x0, x1 = min(all_x), max(all_x)
    y0, y1 = min(all_y), max(all_y)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.08 or abs(y0) * 0.1 or 1
    y0, y1 = y0 - pad, y1 + pad

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="pa"/>')
    for t in nice_ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                     f'class="gr"/><text x="{left - 6}" y="{sy(t) + 4:.1f}" class="yt">'
                     f'{tick_label(t)}</text>')
    for t in nice_ticks(x0, x1, 8):
        parts.append(f'<text x="{sx(t):.1f}" y="{top + ph + 16}" class="xt">{tick_label(t)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" class="xl">'
                 f'{esc(chart.x_label)}</text><text x="14" y="{top + ph / 2}" class="yl" '
                 f'transform="rotate(-90 14 {top + ph / 2})">{esc(chart.y_label)}</text>')
    for h in chart.hlines:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(h.y):.1f}" y2="{sy(h.y):.1f}" '
                     f'stroke="{h.color}" stroke-dasharray="6 4"/><text x="{left + pw - 4}" '
                     f'y="{sy(h.y) - 4:.1f}" class="hl" fill="{h.color}">{esc(h.label)}</text>')
    for k, v in enumerate(chart.vlines):  # labels staggered so that close marks stay legible
        if x0 <= v.x <= x1:
            parts.append(f'<line x1="{sx(v.x):.1f}" x2="{sx(v.x):.1f}" y1="{top}" '
                         f'y2="{top + ph}" stroke="{v.color}" stroke-dasharray="3 3"/>'
                         f'<text x="{sx(v.x) + 3:.1f}" y="{top + ph - 4 - 11 * (k % 3)}" '
                         f'class="vl" fill="{v.color}">{esc(v.label[:40])}</text>')
    for d, name, (lx, row) in zip(drawn, names, legend, strict=True):
        parts.append(_marks(d, sx, sy))
        ly = 22 + LEGEND_ROW_H * row
        parts.append(f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" fill="{d.color}"/>'
                     f'<text x="{lx + 14:.1f}" y="{ly + 9}" class="lg">{esc(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _marks(d: _Drawn, sx: Callable[[float], float], sy: Callable[[float], float]) -> str:
    xs, ys = d.xs, d.ys
    if d.lo and d.hi:
        bars = "".join(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{sy(lo):.1f}" '
                       f'y2="{sy(hi):.1f}"/>' for x, lo, hi in zip(xs, d.lo, d.hi, strict=True))
        dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2"/>'
                       for x, y in zip(xs, ys, strict=True))
        return (f'<g stroke="{d.color}" stroke-opacity="0.45" stroke-width="3">{bars}</g>'
                f'<g fill="{d.color}">{dots}</g>')
    if d.series.style in ("points", "ranges") or len(xs) == 1:
        dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2"/>'
                       for x, y in zip(xs, ys, strict=True))
        return f'<g fill="{d.color}">{dots}</g>'
    coords = []
    for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if d.series.style == "steps" and j:
            coords.append(f"{sx(x):.1f},{sy(ys[j - 1]):.1f}")
        coords.append(f"{sx(x):.1f},{sy(y):.1f}")
    return (f'<polyline fill="none" stroke="{d.color}" stroke-width="1.5" '
            f'points="{" ".join(coords)}"/>')


def render_boxes(title: str, groups: dict[str, list[float]], unit: str,
                 limit: float | None = None, width: int = 760) -> Markup:
    """One horizontal box per group: whisker min..max, box median..p95, with n."""
    from bench.measure import series_stats  # the same statistics as the tables

    rows = [(name, series_stats(vals)) for name, vals in groups.items() if vals]
    row_h, left, right, top = 24, 190, 120, 30
    height = top + row_h * max(1, len(rows)) + 34
    pw = width - left - right
    hi = max([st.max for _, st in rows if st] + ([limit] if limit else []) + [1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
             f' width="{width}" height="{height}" role="img" aria-label="{esc(title)}">',
             f'<text x="8" y="16" class="ct">{esc(title)}</text>']

    def sx(v: float) -> float:
        return left + v / hi * pw

    for t in nice_ticks(0, hi, 6):
        if t <= hi:
            parts.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top - 4}" '
                         f'y2="{height - 30}" class="gr"/><text x="{sx(t):.1f}" y="{height - 16}" '
                         f'class="xt">{tick_label(t)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 2}" class="xl">{esc(unit)}</text>')
    if limit:
        parts.append(f'<line x1="{sx(limit):.1f}" x2="{sx(limit):.1f}" y1="{top - 6}" '
                     f'y2="{height - 30}" stroke="#c0392b" stroke-dasharray="6 4"/>')
    for i, (name, st) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        assert st is not None
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" class="yt">{esc(name[:28])}</text>'
            f'<line x1="{sx(st.min):.1f}" x2="{sx(st.max):.1f}" y1="{y}" y2="{y}" stroke="#555"/>'
            f'<rect x="{sx(st.median):.1f}" y="{y - 7}" '
            f'width="{max(1.5, sx(st.p95) - sx(st.median)):.1f}" height="14" '
            f'fill="#9cc3e6" stroke="#1f5fa8"/>'
            f'<line x1="{sx(st.median):.1f}" x2="{sx(st.median):.1f}" y1="{y - 8}" y2="{y + 8}" '
            f'stroke="#1f5fa8" stroke-width="2"/><circle cx="{sx(st.max):.1f}" cy="{y}" r="2.5" '
            f'fill="#d9822b"/><text x="{width - right + 6}" y="{y + 4}" class="lg">n={st.n} '
            f'max={tick_label(round(st.max, 4))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

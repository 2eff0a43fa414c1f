"""The report's plots, from measurements when the plans recorded them, else from the frames."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from markupsafe import Markup

from reports import metervalues
from reports.frames import CALL, FrameIndex
from reports.svg import Chart, HLine, Series, render_boxes, render_chart
from reports.timebase import Timebase, axis_unit, parse_utc


@dataclass
class Plot:
    title: str
    svg: Markup
    caption: str
    case: str | None = None


def _limit_lines(limits: dict[str, Any] | None, unit: str) -> list[HLine]:
    out = []
    for key in ("low", "high"):
        v = (limits or {}).get(key)
        if isinstance(v, int | float):
            out.append(HLine(float(v), f"{key} {v:g} {unit}"))
    return out


def measurement_plot(m: dict[str, Any], tb: Timebase) -> Plot | None:
    """A series measurement over time (series_index as UTC or numbers) or over sample number."""
    ys = [float(v) for v in m.get("series") or [] if isinstance(v, int | float)]
    if len(ys) < 10 or len(ys) != len(m.get("series") or []):
        return None
    index = m.get("series_index") or []
    xs: list[float] | None = None
    x_label = "sample"
    if len(index) == len(ys):
        if all(isinstance(i, int | float) for i in index):
            xs, x_label = [float(i) for i in index], "index"
        else:
            secs = [tb.s_of_utc(i) for i in index]
            if all(s is not None for s in secs):
                unit, div = axis_unit(max(secs) - min(secs))  # type: ignore[type-var,operator]
                xs, x_label = [s / div for s in secs], f"time since run start ({unit})"  # type: ignore[operator]
    if xs is None:
        xs = [float(i + 1) for i in range(len(ys))]
    unit = str(m.get("unit") or "")
    name = str(m.get("name") or "?")
    style = "points" if len(ys) < 60 else "line"
    chart = Chart(name, x_label, unit, [Series(name, xs, ys, style)],
                  _limit_lines(m.get("limits"), unit))
    return Plot(name, render_chart(chart), str(m.get("description") or ""), m.get("case"))


_INTERVAL_NAME = re.compile(r"meter.?values?.*interval|interval.*meter", re.IGNORECASE)


def meter_interval_plot(samples: list[metervalues.Sample], tb: Timebase,
                        expected: dict[str, float]) -> Plot | None:
    """Spacing of consecutive station timestamps per connector and context."""
    groups: dict[tuple[int, str], list[metervalues.Sample]] = defaultdict(list)
    for s in samples:
        if s.station_time is not None:
            groups[(s.connector, s.context)].append(s)
    series = []
    span = max((tb.s_of_mono(s.arrival_mono_ns) for s in samples), default=0.0)
    unit, div = axis_unit(span)
    for (conn, ctx), rows in sorted(groups.items()):
        rows.sort(key=lambda s: s.station_time)
        xs = [tb.s_of_mono(b.arrival_mono_ns) / div for b in rows[1:]]
        ys = [(b.station_time - a.station_time).total_seconds() for a, b in pairwise(rows)]
        if ys:
            label = f"connector {conn} {ctx.replace('Sample.', '')}"
            series.append(Series(label, xs, ys, "points"))
    if not series:
        return None
    by_value: dict[float, list[str]] = defaultdict(list)
    for k, v in expected.items():
        if v:
            by_value[v].append(k)
    hlines = [HLine(v, f"{' = '.join(ks)} = {v:g} s", "#2e8540") for v, ks in by_value.items()]
    chart = Chart("MeterValues intervals (station timestamps)", f"time since run start ({unit})",
                  "interval (s)", series, hlines)
    return Plot(chart.title, render_chart(chart),
                "Derived from the MeterValues frames: spacing between consecutive sample "
                "timestamps per connector and reading context. The dashed lines are the "
                "configured intervals.")


def clock_plot(frames: list[dict[str, Any]], samples: list[metervalues.Sample], tb: Timebase,
               aligned_interval: float | None) -> Plot | None:
    """Station clock against the bench clock, and clock-aligned sample offsets."""
    span = max((tb.s_of_mono(f["mono_ns"]) for f in frames[-1:]), default=0.0)
    unit, div = axis_unit(span)
    xs, ys = [], []
    for f in frames:
        if f.get("direction") != "in" or f.get("msg_type") != CALL or f.get("action") not in (
                "StatusNotification", "StartTransaction", "StopTransaction"):
            continue
        bench_t = parse_utc(f.get("utc"))
        m = re.search(r'"timestamp"\s*:\s*"([^"]+)"', f.get("raw", ""))
        station_t = parse_utc(m.group(1)) if m else None
        if bench_t and station_t:
            xs.append(tb.s_of_mono(f["mono_ns"]) / div)
            ys.append((station_t - bench_t).total_seconds())
    series = []
    if ys:
        series.append(Series("station − bench at arrival", xs, ys, "points"))
    if aligned_interval:
        ax, ay = [], []
        for s in samples:
            if s.context == "Sample.Clock" and s.station_time is not None:
                off = s.station_time.timestamp() % aligned_interval
                ax.append(tb.s_of_mono(s.arrival_mono_ns) / div)
                ay.append(off - aligned_interval if off > aligned_interval / 2 else off)
        if ay:
            series.append(Series(f"aligned sample offset from {aligned_interval:g} s grid", ax, ay,
                                 "points"))
    if not series:
        return None
    chart = Chart("Clock: station timestamps against the bench", f"time since run start ({unit})",
                  "offset (s)", series, [HLine(0.0, "0", "#6b6b6b")])
    return Plot(chart.title, render_chart(chart),
                "Station timestamps (StatusNotification, Start/StopTransaction) minus the bench's "
                "UTC when the frame crossed the socket; clock-aligned MeterValues timestamps minus "
                "the nearest multiple of ClockAlignedDataInterval.")


def response_plot(index: FrameIndex, limit_s: float | None) -> Plot | None:
    groups = index.bench_call_response_times()
    if not groups:
        return None
    svg = render_boxes("Station response time to the bench's CALLs, per action", groups, "s",
                       limit_s)
    return Plot("Response times", svg,
                "From the CALL leaving the bench's socket to the CALLRESULT/CALLERROR arriving "
                "(monotonic stamps). Line min–max, box median–p95, dot max; dashed: the PICS OCPP "
                "response timeout.")


def reference_energy(events: list[dict[str, Any]]) -> list[tuple[int, float, int | None]]:
    """(mono_ns, Wh, connector) readings of the reference meter from instrument events.

    Read from events of kind "instrument" whose detail carries a numeric `value` with unit
    Wh/kWh, or an `energy_wh` field (see the report module docs for the convention).
    """
    out = []
    for e in events:
        if e.get("kind") != "instrument":
            continue
        d = e.get("detail") or {}
        value, unit = d.get("energy_wh"), "Wh"
        if value is None:
            value, unit = d.get("value"), str(d.get("unit") or "")
        if not isinstance(value, int | float) or unit not in ("Wh", "kWh"):
            continue
        wh = float(value) * (1000 if unit == "kWh" else 1)
        conn = d.get("connector")
        out.append((int(e["mono_ns"]), wh, conn if isinstance(conn, int) else None))
    return out


def energy_windows(ref: list[tuple[int, float, int | None]],
                   starts: list[int]) -> list[list[tuple[int, float]]]:
    """Readings split where the integrator was reset (a verb, or the reading went down)."""
    windows: list[list[tuple[int, float]]] = []
    starts = sorted(starts)
    prev: tuple[int, float] | None = None
    for t, wh, _ in ref:
        reset = prev is not None and (
            wh < prev[1] or bisect.bisect_right(starts, t) > bisect.bisect_right(starts, prev[0]))
        if prev is None or reset:
            windows.append([])
        windows[-1].append((t, wh))
        prev = (t, wh)
    return windows


@dataclass
class EnergySeries:
    connector: int
    ref_t: list[int]  # mono_ns
    ref_wh: list[float]  # cumulative over the windows
    station_t: list[int]
    station_wh: list[float]


def energy_series(samples: list[metervalues.Sample], events: list[dict[str, Any]],
                  meter_connector: int | None) -> EnergySeries | None:
    """Energy counted by both sides inside the reference meter's windows, end to end.

    The station's baseline in a window is its last sample at or before the window opens.
    """
    ref = reference_energy(events)
    if not ref:
        return None
    conn = next((c for _, _, c in ref if c is not None), meter_connector or 1)
    starts = sorted(e["mono_ns"] for e in events
                    if e.get("kind") == "verb" and e.get("name") == "energy_window_start"
                    and isinstance(e.get("mono_ns"), int))
    station = [s for s in samples if s.connector == conn and s.energy_wh is not None]
    station_t = [s.arrival_mono_ns for s in station]
    rx, ry, sx, sy = [], [], [], []
    ref_total = station_total = 0.0
    prev_end = -1
    for window in energy_windows(ref, sorted(starts)):
        (t0, wh0), (t1, wh1) = window[0], window[-1]
        # a window opened by energy_window_start counts from zero at that verb, so a single
        # reading at its end (the soak plan's way) still measures the whole window
        i = bisect.bisect_right(starts, t0) - 1
        if i >= 0 and starts[i] > prev_end:
            window = [(starts[i], 0.0), *window]
            t0, wh0 = starts[i], 0.0
        prev_end = t1
        rx += [t for t, _ in window]
        ry += [ref_total + wh - wh0 for _, wh in window]
        ref_total += wh1 - wh0
        lo, hi = bisect.bisect_left(station_t, t0), bisect.bisect_right(station_t, t1)
        inside = station[max(lo - 1, 0):hi]  # the sample before the window is the baseline
        if inside:
            base = inside[0].energy_wh or 0.0
            sx += [max(s.arrival_mono_ns, t0) for s in inside]
            sy += [station_total + (s.energy_wh or 0.0) - base for s in inside]
            station_total = sy[-1]
    return EnergySeries(conn, rx, ry, sx, sy)


def energy_plot(samples: list[metervalues.Sample], events: list[dict[str, Any]], tb: Timebase,
                meter_connector: int | None) -> Plot | None:
    es = energy_series(samples, events, meter_connector)
    if es is None:
        return None
    rx, ry, sx, sy, conn = es.ref_t, es.ref_wh, es.station_t, es.station_wh, es.connector
    ref_total = ry[-1] if ry else 0.0
    station_total = sy[-1] if sy else 0.0
    span = tb.s_of_mono(max(rx[-1], sx[-1] if sx else 0))
    unit, div = axis_unit(span)
    scale, e_unit = (1000.0, "kWh") if max(ref_total, station_total) > 10_000 else (1.0, "Wh")
    series = [Series("reference meter", [tb.s_of_mono(t) / div for t in rx],
                     [v / scale for v in ry], "line")]
    if sx:
        series.append(Series(f"station connector {conn}", [tb.s_of_mono(t) / div for t in sx],
                             [v / scale for v in sy], "steps"))
    chart = Chart("Energy: station register against the reference meter",
                  f"time since run start ({unit})", f"{e_unit} counted in the meter windows",
                  series)
    return Plot(chart.title, render_chart(chart),
                "Energy.Active.Import.Register from the station's MeterValues and the reference "
                "meter's integrator, both counted only inside the meter's integration windows "
                "(each window from its first reading) and added up window after window.")


def run_plots(frames: list[dict[str, Any]], events: list[dict[str, Any]],
              measurements: list[dict[str, Any]], index: FrameIndex, tb: Timebase,
              settings: dict[str, Any]) -> list[Plot]:
    """The run-wide Plots section (measurement plots live in their case sections)."""
    samples = metervalues.samples(frames)
    plots: list[Plot | None] = []
    if not any(_INTERVAL_NAME.search(str(m.get("name"))) for m in measurements):
        plots.append(meter_interval_plot(samples, tb, {
            "MeterValueSampleInterval": settings.get("sample_interval") or 0,
            "ClockAlignedDataInterval": settings.get("aligned_interval") or 0,
        }))
    plots.append(clock_plot(frames, samples, tb, settings.get("aligned_interval")))
    plots.append(response_plot(index, settings.get("response_timeout")))
    plots.append(energy_plot(samples, events, tb, settings.get("meter_connector")))
    # measurements of the whole run (e.g. per-action response times) have no case section
    plots += [measurement_plot(m, tb) for m in measurements if not m.get("case")]
    return [p for p in plots if p is not None]

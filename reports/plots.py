"""The report's plots, from measurements when the plans recorded them, else from the frames."""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from markupsafe import Markup

from bench.measure.resolution import timestamp_resolution_s
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
PERIODIC, CLOCK = "Sample.Periodic", "Sample.Clock"
INTERVAL_CONTEXTS = (PERIODIC, CLOCK)  # the only reading contexts with an interval


@dataclass
class IntervalRun:
    """Consecutive samples whose spacing is one interval of the station."""

    station: str
    connector: int
    context: str
    transaction: Any
    samples: list[metervalues.Sample]


def boots_by_station(frames: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The arrival stamps of every BootNotification each station sent, in order."""
    out: dict[str, list[int]] = defaultdict(list)
    for f in frames:
        if (f.get("action") == "BootNotification" and f.get("msg_type") == CALL
                and f.get("direction") == "in" and isinstance(f.get("mono_ns"), int)):
            out[str(f.get("station") or "")].append(f["mono_ns"])
    return {k: sorted(v) for k, v in out.items()}


def interval_runs(samples: list[metervalues.Sample],
                  boots: dict[str, list[int]]) -> list[IntervalRun]:
    """Sample.Periodic: the samples of one transaction (what lies between two transactions is
    the connector's idle time, not an interval); Sample.Clock: those of one connector between
    two boots (aligned data runs with or without a transaction; a reboot restarts it).
    Transaction.Begin/End, Trigger, Interruption.* and Other have no interval: not in a run."""
    groups: dict[tuple[Any, ...], list[metervalues.Sample]] = defaultdict(list)
    for s in samples:
        if s.station_time is None or s.context not in INTERVAL_CONTEXTS:
            continue
        boot = bisect.bisect_right(boots.get(s.station, []), s.arrival_mono_ns)
        tx = s.transaction_id if s.context == PERIODIC else None
        groups[(s.station, s.connector, s.context, str(tx), boot)].append(s)
    runs = []
    for (station, conn, ctx, _, _), rows in groups.items():
        rows.sort(key=lambda s: s.station_time)
        runs.append(IntervalRun(station, conn, ctx, rows[0].transaction_id, rows))
    return sorted(runs, key=lambda r: r.samples[0].arrival_mono_ns)


def interval_points(runs: list[IntervalRun]) -> dict[tuple[str, int], list[tuple[int, float]]]:
    """(arrival of the later sample, seconds between the two station timestamps) of every pair
    of consecutive samples inside a run, per station and connector; none across two runs."""
    out: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    for r in runs:
        for a, b in pairwise(r.samples):
            out[(r.station, r.connector)].append(
                (b.arrival_mono_ns, (b.station_time - a.station_time).total_seconds()))
    return dict(out)


def meter_interval_plots(samples: list[metervalues.Sample], frames: list[dict[str, Any]],
                         tb: Timebase, expected: dict[str, float]) -> list[Plot]:
    """One plot per reading context with an interval: the spacing of consecutive station
    timestamps inside each run (interval_runs), one series per station and connector."""
    runs = interval_runs(samples, boots_by_station(frames))
    stations = {r.station for r in runs}
    span = max((tb.s_of_mono(s.arrival_mono_ns) for s in samples), default=0.0)
    unit, div = axis_unit(span)
    left_out = Counter(s.context or "no context" for s in samples
                       if s.context not in INTERVAL_CONTEXTS)
    plots = []
    for context, key, what in ((PERIODIC, "MeterValueSampleInterval", "transaction"),
                               (CLOCK, "ClockAlignedDataInterval", "connector between boots")):
        mine = [r for r in runs if r.context == context and len(r.samples) > 1]
        if not mine:
            continue
        series = [Series(f"{station} connector {conn}" if len(stations) > 1
                         else f"connector {conn}",
                         [tb.s_of_mono(t) / div for t, _ in pts], [v for _, v in pts], "points")
                  for (station, conn), pts in sorted(interval_points(mine).items())]
        hlines = ([HLine(expected[key], f"{key} = {expected[key]:g} s", "#2e8540")]
                  if expected.get(key) else [])
        name = context.replace("Sample.", "")
        title = (f"MeterValues {name} intervals, per transaction (station timestamps)"
                 if context == PERIODIC else
                 f"MeterValues {name} intervals (station timestamps)")
        chart = Chart(title, f"time since run start ({unit})", "interval (s)", series, hlines)
        caption = (f"Derived from the MeterValues frames: the spacing of consecutive {context} "
                   f"timestamps within each {what} ({len(mine)} of them); "
                   + ("the time between two transactions is idle time, not an interval, and "
                      "is not drawn. " if context == PERIODIC else
                      "a multiple of the interval is a missed sample. ")
                   + "The dashed line is the configured interval.")
        if left_out and not plots:
            caption += (" Samples without an interval are left out: "
                        + ", ".join(f"{n} {c}" for c, n in sorted(left_out.items())) + ".")
        plots.append(Plot(chart.title, render_chart(chart), caption))
    return plots


def clock_plot(frames: list[dict[str, Any]], samples: list[metervalues.Sample], tb: Timebase,
               aligned_interval: float | None, deviation_limit: float | None = None
               ) -> Plot | None:
    """Station clock against the bench clock, with the resolution of every timestamp, and
    clock-aligned sample offsets."""
    span = max((tb.s_of_mono(f["mono_ns"]) for f in frames[-1:]), default=0.0)
    unit, div = axis_unit(span)
    by_station: dict[str, tuple[list[float], ...]] = {}
    coarsest = 0.0
    for f in frames:
        if f.get("direction") != "in" or f.get("msg_type") != CALL or f.get("action") not in (
                "StatusNotification", "StartTransaction", "StopTransaction"):
            continue
        bench_t = parse_utc(f.get("utc"))
        m = re.search(r'"timestamp"\s*:\s*"([^"]+)"', f.get("raw", ""))
        station_t = parse_utc(m.group(1)) if m else None
        if bench_t and station_t and m:
            res = timestamp_resolution_s(m.group(1)) or 0.0
            coarsest = max(coarsest, res)
            off = (station_t - bench_t).total_seconds()
            xs, ys, lo, hi = by_station.setdefault(str(f.get("station") or ""), ([], [], [], []))
            xs.append(tb.s_of_mono(f["mono_ns"]) / div)
            ys.append(off)
            lo.append(off - res)
            hi.append(off + res)
    series = []
    for station, (xs, ys, lo, hi) in sorted(by_station.items()):
        label = "station − bench at arrival" + (f" ({station})" if len(by_station) > 1 else "")
        series.append(Series(label, xs, ys, "ranges", lo=lo, hi=hi))
    if aligned_interval:
        ax, ay = [], []
        for s in samples:
            if s.context == CLOCK and s.station_time is not None:
                off = s.station_time.timestamp() % aligned_interval
                ax.append(tb.s_of_mono(s.arrival_mono_ns) / div)
                ay.append(off - aligned_interval if off > aligned_interval / 2 else off)
        if ay:
            series.append(Series(f"aligned sample offset from {aligned_interval:g} s grid", ax, ay,
                                 "points"))
    if not series:
        return None
    hlines = [HLine(0.0, "0", "#6b6b6b")]
    if deviation_limit:
        hlines += [HLine(deviation_limit, f"+{deviation_limit:g} s max time deviation"),
                   HLine(-deviation_limit, f"−{deviation_limit:g} s")]
    chart = Chart("Clock: station timestamps against the bench", f"time since run start ({unit})",
                  "offset (s)", series, hlines)
    caption = ("Station timestamps (StatusNotification, Start/StopTransaction) minus the bench's "
               "UTC when the frame crossed the socket; clock-aligned MeterValues timestamps minus "
               "the nearest multiple of ClockAlignedDataInterval. Each bar spans ± the "
               "timestamp's resolution: the clock reading behind a timestamp lies within it, "
               "whether the station truncates or rounds, and clock.offset is judged within it.")
    if coarsest >= 0.1:
        caption += (f" This station writes timestamps to {coarsest:g} s: points filling a band "
                    f"{coarsest:g} s high are that resolution, not its clock moving.")
    return Plot(chart.title, render_chart(chart), caption)


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
        plots += meter_interval_plots(samples, frames, tb, {
            "MeterValueSampleInterval": settings.get("sample_interval") or 0,
            "ClockAlignedDataInterval": settings.get("aligned_interval") or 0,
        })
    plots.append(clock_plot(frames, samples, tb, settings.get("aligned_interval"),
                            settings.get("time_deviation")))
    plots.append(response_plot(index, settings.get("response_timeout")))
    plots.append(energy_plot(samples, events, tb, settings.get("meter_connector")))
    # measurements of the whole run (e.g. per-action response times) have no case section
    plots += [measurement_plot(m, tb) for m in measurements if not m.get("case")]
    return [p for p in plots if p is not None]

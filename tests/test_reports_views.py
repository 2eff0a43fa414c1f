"""Report views that hold for real stations: MeterValues intervals per transaction and per
reading context, clock offsets shown with the resolution of the station's timestamps.

The serve-like records are scripted (tests/support/scripted.py: what `bench serve` records of a
station that charges twice, reboots and sends whole seconds); the views are also read off the
real short run of the session (support/realrun.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from support.scripted import ScriptedStation, station_snapshots
from test_reports_html import Doc

from bench.record import RunRecord
from bench.record.reader import load_run
from reports import build_reports, metervalues
from reports.plots import (
    CLOCK,
    PERIODIC,
    boots_by_station,
    clock_plot,
    interval_points,
    interval_runs,
)
from reports.timebase import Timebase

STATION = "CS-SERVE-1"
INTERVAL_S = 10


def serve_like_record(runs) -> RunRecord:
    """Two transactions on connector 1 ten minutes apart, each with Transaction.Begin/End
    samples around its sampled ones, clock-aligned data on connector 0 all along, a reboot
    (five minutes off) between the transactions; no case, no measurement, as `bench serve`."""
    rec = RunRecord.create(runs, "serve", station_id=STATION)
    for name in ("station", "station_config_start"):
        rec.snapshot(name, station_snapshots()[name])
    sc = ScriptedStation(rec, STATION, dt.datetime(2026, 11, 23, 8, 0, 0, tzinfo=dt.UTC))
    energy = 1000.0

    def tick(transaction: int | None) -> None:
        nonlocal energy
        sc.advance(INTERVAL_S)
        energy += 50
        sc.meter_values(0, energy, CLOCK)
        if transaction is not None:
            sc.meter_values(1, energy, PERIODIC, transaction_id=transaction)

    with sc.clock():
        sc.station_call("BootNotification", station_snapshots()["station"])
        for tx in (1, 2):
            sc.meter_values(1, energy, "Transaction.Begin", transaction_id=tx)
            for _ in range(6):
                tick(tx)
            sc.meter_values(1, energy, "Transaction.End", transaction_id=tx)
            for _ in range(60):  # ten idle minutes: aligned data only
                tick(None)
            if tx == 1:
                sc.advance(300)  # mains off, then the station boots again
                sc.station_call("BootNotification", station_snapshots()["station"])
        rec.close()
    return rec


@pytest.fixture(scope="module")
def serve_run(tmp_path_factory):
    rec = serve_like_record(tmp_path_factory.mktemp("serve"))
    build_reports(rec.path)
    return rec.path


def test_sampled_intervals_are_taken_per_transaction_never_across_two(serve_run):
    run = load_run(serve_run)
    runs = interval_runs(metervalues.samples(run.frames), boots_by_station(run.frames))
    periodic = [r for r in runs if r.context == PERIODIC]
    assert [(r.connector, r.transaction, len(r.samples)) for r in periodic] == [(1, 1, 6),
                                                                               (1, 2, 6)]
    values = [v for _, v in interval_points(periodic)[(STATION, 1)]]
    assert len(values) == 10 and all(abs(v - INTERVAL_S) < 0.1 for v in values), values
    # 5 per transaction: the ten idle minutes between them are no interval
    # Transaction.Begin/End samples have no interval: in no run at all
    assert {r.context for r in runs} == {PERIODIC, CLOCK}


def test_clock_aligned_intervals_run_per_connector_between_boots(serve_run):
    run = load_run(serve_run)
    clock = [r for r in interval_runs(metervalues.samples(run.frames),
                                      boots_by_station(run.frames)) if r.context == CLOCK]
    assert [(r.connector, len(r.samples)) for r in clock] == [(0, 66), (0, 66)]
    values = [v for _, v in interval_points(clock)[(STATION, 0)]]
    assert len(values) == 130 and all(abs(v - INTERVAL_S) < 0.1 for v in values), max(values)
    # the five minutes off across the reboot are not an interval


def test_serve_report_plots_each_context_and_says_what_it_left_out(serve_run):
    html = (serve_run / "report.html").read_text("utf-8")
    plots = html.split('id="plots"', 1)[1].split('id="cases"', 1)[0]
    assert "MeterValues Periodic intervals, per transaction (station timestamps)" in plots
    assert "MeterValues Clock intervals (station timestamps)" in plots
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", plots, re.S)
    periodic = next(c for c in captions if "Sample.Periodic timestamps" in c)
    assert "within each transaction (2 of them)" in periodic
    assert "left out: 2 Transaction.Begin, 2 Transaction.End" in periodic
    assert any("within each connector between boots (2 of them)" in c for c in captions)
    assert Doc(html).tags.get("svg", 0) >= 3


def test_several_stations_on_one_connector_id_stay_apart():
    t0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)

    def sample(station: str, k: int) -> metervalues.Sample:
        return metervalues.Sample(1, k * 10**9, t0 + dt.timedelta(seconds=10 * k), PERIODIC,
                                  None, k, station=station, transaction_id=7)

    samples = [sample(s, k) for k in range(4) for s in ("A", "B")]
    points = interval_points(interval_runs(samples, {}))
    assert {k: [v for _, v in pts] for k, pts in points.items()} == {
        ("A", 1): [10.0] * 3, ("B", 1): [10.0] * 3}


def test_whole_second_timestamps_are_shown_with_their_resolution(tmp_path):
    """A station 0.4 s ahead that writes whole seconds: its offsets fill a band 1 s high;
    each point carries a bar of ± 1 s and the caption names the resolution."""
    rec = RunRecord.create(tmp_path, "whole-seconds", station_id=STATION)
    sc = ScriptedStation(rec, STATION, dt.datetime(2026, 11, 23, 8, 0, 0, tzinfo=dt.UTC))
    with sc.clock():
        for _ in range(20):
            sc.advance(2.37)
            clock = (sc.now + dt.timedelta(seconds=0.4)).replace(microsecond=0)
            sc.station_call("StatusNotification", {
                "connectorId": 1, "errorCode": "NoError", "status": "Available",
                "timestamp": clock.strftime("%Y-%m-%dT%H:%M:%SZ")})
        rec.close()
    run = load_run(rec.path)
    plot = clock_plot(run.frames, [], Timebase.of_run(run.meta, [run.frames]), None, 1.0)
    assert plot is not None
    assert "writes timestamps to 1 s" in plot.caption and "not its clock moving" in plot.caption
    svg = str(plot.svg)
    bars = re.findall(r'<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"/>', svg)
    assert len(bars) == 20  # one bar per timestamp
    assert "+1 s max time deviation" in svg  # the limit it is judged within is drawn


@pytest.mark.slow
@pytest.mark.timeout(300)  # may be the first user of the session's real run
def test_millisecond_timestamps_carry_no_resolution_note(real_run):
    run = load_run(real_run.path)
    plot = clock_plot(run.frames, metervalues.samples(run.frames),
                      Timebase.of_run(run.meta, [run.frames]), 5.0, 1.0)
    assert plot is not None and "writes timestamps to" not in plot.caption
    # the real run's one transaction: its sampled MeterValues make one run, every 2 s
    runs = [r for r in interval_runs(metervalues.samples(run.frames),
                                     boots_by_station(run.frames)) if r.context == PERIODIC]
    starts = [f for f in run.frames if f["action"] == "StartTransaction" and f["msg_type"] == 2]
    assert len(runs) == len(starts) == 1
    values = [v for _, v in interval_points(runs)[(run.meta["station_id"], 1)]]
    assert values and all(abs(v - 2.0) < 0.25 for v in values), values

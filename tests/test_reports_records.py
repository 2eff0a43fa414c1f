"""Records as a crash, a confused station or another writer may leave them still render."""

from __future__ import annotations

import datetime as dt
import json

from support.scripted import ScriptedStation
from test_reports_html import Doc

from bench.record import RunRecord, Verdict, VerdictRecord
from reports import build_reports


def test_odd_record_lines_render_and_outside_frames_get_their_own_section(tmp_path):
    rec = RunRecord.create(tmp_path, "odd", plan="core")
    rec.snapshot("station_config_start", {"configurationKey": [
        {"key": "HeartbeatInterval", "value": "30", "readonly": False},
        {"key": "NoValueKey", "readonly": True}], "unknownKey": []})
    rec.snapshot("instruments", {"meter": {"driver": "scpi-meter", "address": "TCPIP::x",
                                           "identity": "ACME,PM1,7,2.0"}})
    (rec.path / "snapshots" / "station.json").write_text("{not json")
    sc = ScriptedStation(rec, "CS-ODD", dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC))
    with sc.clock():
        # before any case: boot, a finding of the endpoint, an unreadable frame
        sc.station_call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        bad = sc.unreadable("<b>garbage</b> not json")
        sc.event("finding", "UNREADABLE_FRAME", station="CS-ODD", message="not JSON",
                 frame_seq=bad)
        rec.current_case = "TC_031_CS"
        sc.bench_call("UnlockConnector", {"connectorId": 9}, error=(
            "NotImplemented", "no such connector"))
        sc.station_call("StatusNotification", {"connectorId": "one"},
                        schema="invalid: connectorId must be integer")
        rec.verdict(VerdictRecord("TC_031_CS", Verdict.FAIL, "CALLERROR instead of "
                                  "NotSupported"))
    rec.close("interrupted")
    with open(rec.path / "measurements.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"seq": 99, "mono_ns": 1, "utc": "x", "case": "TC_031_CS",
                            "name": "odd", "unit": "s", "series": [1, 2, 3]}) + "\n")
    with open(rec.path / "verdicts.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"seq": 100, "case": "TC_999_XX", "verdict": "WEIRD"}) + "\n")

    html = build_reports(rec.path).read_text("utf-8")
    doc = Doc(html)
    assert doc.row("case-list", "TC_031_CS")[3] == "FAIL"
    assert doc.row("case-list", "TC_999_XX")[2:4] == ["Other", "WEIRD"]
    outside = html.split('id="case-outside-cases"', 1)[1].split("</section>", 1)[0]
    assert "Setup and teardown" in outside and "UNREADABLE_FRAME" in outside
    assert "BootNotification" in outside
    assert "&lt;b&gt;garbage&lt;/b&gt;" in outside and "<b>garbage" not in html
    case = html.split('id="case-TC_031_CS"', 1)[1].split("</section>", 1)[0]
    assert '<tr class="in problem"' in case  # the CALLERROR and the schema-invalid frame
    assert "[schema invalid: connectorId must be integer]" in case
    assert doc.row("station-config-table", "NoValueKey")[1:3] == ["(no value)", "Yes"]
    assert doc.row("instruments", "meter")[3] == "ACME,PM1,7,2.0"
    assert '<tr class="m" data-measurement="odd">' in html  # stats computed from the series
    summary = json.loads((rec.path / "summary.json").read_text())
    assert summary["partial"] is True and summary["meta"]["status"] == "interrupted"
    assert next(m for m in summary["measurements"] if m["name"] == "odd")["stats"]["median"] == 2


def test_energy_is_counted_per_meter_window_read_once_at_its_end(tmp_path):
    """The soak plan resets the integrator per session and reads it once when it stops."""
    from bench.record.reader import load_run
    from reports import metervalues
    from reports.plots import energy_plot, energy_series
    from reports.timebase import Timebase

    rec = RunRecord.create(tmp_path, "windows")
    sc = ScriptedStation(rec, "CS", dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC))
    with sc.clock():
        register = 1000.0
        sc.meter_values(1, register, "Sample.Clock")
        for _session in range(2):
            sc.verb("energy_window_start", commanded={"meter": "meter"})
            for _ in range(6):
                sc.advance(10)
                register += 100
                sc.meter_values(1, register, "Sample.Periodic", transaction_id=1)
            sc.event("instrument", "meter.energy", energy_wh=603.0)
            sc.advance(60)
            register += 50  # idle consumption between windows: counted by neither side
            sc.meter_values(1, register, "Sample.Clock")
        rec.close()
    run = load_run(rec.path)
    samples = metervalues.samples(run.frames)
    es = energy_series(samples, run.events, meter_connector=1)
    assert es is not None and es.connector == 1
    assert es.ref_wh == [0.0, 603.0, 603.0, 1206.0]
    assert es.station_wh[-1] == 1200.0
    plot = energy_plot(samples, run.events, Timebase.of_run(run.meta, [run.frames]), 1)
    assert plot is not None and "Wh counted in the meter windows" in str(plot.svg)

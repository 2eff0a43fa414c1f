"""The certificate's headline (its three Performance Measurement Results rows), the measurement
groups under it, and the OCPP configuration table in the certificate's form."""

from __future__ import annotations

from pathlib import Path

from test_reports_html import Doc

from bench.measure import Limits, Measurement
from bench.record import RunRecord
from reports import build_reports
from reports.configkeys import NOT_APPLICABLE, STANDARD_KEYS
from reports.measurements import GROUPS, OTHER_GROUP

PICS = {"ocpp_response_timeout_s": 30, "triggered_function_timeout_s": 30,
        "remote_start_response_s": 10}


def _measure(rec: RunRecord, case: str | None, name: str, *, value: float | None = None,
             series: list[float] | None = None, high: float | None = 30.0,
             stat: str = "max", evidence: list[int] | None = None) -> None:
    rec.current_case = case
    m = Measurement(name, "s", value=value, series=series or [],
                    limits=Limits(high=high, stat=stat) if high is not None else None,
                    evidence=evidence or [])
    rec.measurement({**m.as_dict(), "case": case})


def _run(tmp_path: Path, *, slow_reset_answer: bool = False) -> Path:
    rec = RunRecord.create(tmp_path / "runs", "headline", station_id="CP-1")
    rec.snapshot("pics", PICS)
    rec.snapshot("station_config_start", [
        {"key": "HeartbeatInterval", "value": "30", "readonly": False},
        {"key": "metervaluesampleinterval", "value": "10", "readonly": False},  # odd case
        {"key": "NoValueKey", "readonly": True},
        {"key": "vendor:Display", "value": "on", "readonly": False},
    ])
    _measure(rec, "TC_010_CS", "triggered.remote_start", value=0.61, evidence=[12, 14])
    _measure(rec, "TC_010_CS", "remote_start.response_time", value=0.2, high=5.0)
    _measure(rec, "TC_011_1_CS", "remote_start.response_time", value=0.35, high=5.0)
    # per case, then the run-wide series of the same name that holds the same samples
    _measure(rec, "TC_013_CS", "triggered.change_availability", value=1.4)
    _measure(rec, "TC_014_CS", "triggered.change_availability", value=0.9)
    _measure(rec, None, "triggered.change_availability", series=[1.4, 0.9])
    _measure(rec, "TC_013_CS", "triggered.reset", value=25.0, high=None)  # a reboot: left out
    _measure(rec, "TC_041_CS", "status_latency.fault", value=40.0)  # physical: not a row
    _measure(rec, None, "ocpp.response_time.GetConfiguration", series=[0.1, 0.2, 0.3, 0.4])
    _measure(rec, None, "ocpp.response_time.Reset",
             series=[0.5, 31.2 if slow_reset_answer else 2.3], evidence=[40, 41])
    _measure(rec, None, "heartbeat.period", series=[30.0, 30.1], stat="median", high=31)
    _measure(rec, "TC_999_CS", "mystery.figure", value=1.0, high=None)
    rec.close("complete")
    return rec.path


def _doc(run_dir: Path) -> tuple[str, Doc]:
    html = build_reports(run_dir).read_text("utf-8")
    return html, Doc(html)


def test_headline_rows_are_the_certificates_three_with_pics_measured_and_bench_figure(tmp_path):
    html, doc = _doc(_run(tmp_path))
    rows = doc.tables["headline"][1:]
    assert [r[0] for r in rows] == ["OCPP triggered function timeout:",
                                    "OCPP response timeout:",
                                    "Response time RemoteStartTransaction:"]
    triggered, response, remote = rows
    # name, PICS value, measured value (1 s resolution), bench figure, verdict, description
    assert triggered[1:3] == ["30 sec", "2 sec"]  # worst 1.4 s, rounded up
    # RemoteStart -> StartTransaction and the run-wide ChangeAvailability series; the per-case
    # copies of that series and the reboot (Reset -> BootNotification, 25 s) are not counted
    assert triggered[3].startswith("max 1.4 s (n = 3; worst 1.4 s: run-wide, "
                                   "triggered.change_availability")
    assert "triggered.reset" not in triggered[5] and "status_latency" not in triggered[5]
    assert response[1:3] == ["30 sec", "3 sec"]
    assert response[3] == ("max 2.3 s (n = 6; worst 2.3 s: run-wide, ocpp.response_time.Reset, "
                           "frame seq 40/41)")
    assert remote[1].startswith("10 sec") and remote[2] == "1 sec"
    assert "judged against 5 sec (the campaign's setting" in remote[1]
    assert remote[3].startswith("max 0.35 s (n = 2; worst 0.35 s: TC_011_1_CS")
    assert [r[4] for r in rows] == ["PASS", "PASS", "PASS"]
    # the headline opens the section, before any measurement table
    section = html.split('id="performance"', 1)[1]
    assert section.index('id="headline"') < section.index('class="perf"')


def test_a_member_beyond_its_limit_fails_its_headline_row(tmp_path):
    _, doc = _doc(_run(tmp_path, slow_reset_answer=True))
    response = doc.row("headline", "OCPP response timeout:")
    assert response[2] == "32 sec" and response[4] == "FAIL"
    assert doc.row("headline", "OCPP triggered function timeout:")[4] == "PASS"


def test_headline_of_a_run_without_measurements_says_not_measured(tmp_path):
    rec = RunRecord.create(tmp_path / "runs", "empty")
    rec.close("complete")
    _, doc = _doc(rec.path)
    for row in doc.tables["headline"][1:]:
        assert row[1:5] == ["not declared", "not measured", "no sample in this run", "UNSET"]


def test_the_other_measurements_are_grouped_by_what_they_measure(tmp_path):
    html, _ = _doc(_run(tmp_path))
    section = html.split('id="performance"', 1)[1].split('id="configuration"', 1)[0]
    groups = Doc(section).headings
    titles = [t for t, _ in GROUPS]
    assert groups == [titles[0], titles[1], titles[2], titles[3], OTHER_GROUP]
    triggered = section.split(titles[1], 1)[1].split("<h3", 1)[0]
    assert 'data-measurement="triggered.reset"' in triggered
    assert 'data-measurement="status_latency.fault"' not in triggered
    other = section.split(OTHER_GROUP, 1)[1]
    assert 'data-measurement="mystery.figure"' in other


def test_configuration_table_lists_every_standard_key_in_the_certificates_order(tmp_path):
    _, doc = _doc(_run(tmp_path))
    rows = doc.tables["station-config-table"][1:]
    standard = [r[0].lower() for r in rows[:len(STANDARD_KEYS)]]
    assert standard == [k.lower() for k, _ in STANDARD_KEYS]
    assert doc.row("station-config-table", "HeartbeatInterval")[1] == "30"
    # matched without regard to case, shown as the station spells it
    assert doc.row("station-config-table", "metervaluesampleinterval")[1] == "10"
    assert doc.row("station-config-table", "BlinkRepeat")[1] == NOT_APPLICABLE
    assert doc.row("station-config-table", "SupportedFileTransferProtocols")[1] == NOT_APPLICABLE
    assert rows[len(STANDARD_KEYS)][0].startswith("Other keys the station reported")
    assert [r[0] for r in rows[len(STANDARD_KEYS) + 1:]] == ["NoValueKey", "vendor:Display"]
    assert doc.row("station-config-table", "NoValueKey")[1] == "(no value)"

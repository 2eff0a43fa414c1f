"""report.html from recorded runs: content, partial runs, hostile station text, secrets, capping."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.realrun import CASES as CASES_RUN
from support.samplerun import HOSTILE, SECRET, write_controls_run, write_sample_run
from support.scripted import ScriptedStation

from bench.record import RunRecord, Verdict, VerdictRecord
from bench.record.model import CASE_SAMPLES
from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from reports import build_reports
from reports.cases import CHART_HEAD, CHART_TAIL, RAW_HEAD, RAW_TAIL


class Doc(HTMLParser):
    """Tables by id, sections by data-case, start-tag counts, headings: enough to query."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.headings: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self._table: list[str | None] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._glued = False  # after <wbr>: the next text continues the word before it
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._glued = tag == "wbr"
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "table":
            self._table.append(a.get("id"))
            if a.get("id"):
                self.tables[a["id"]] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table and self._table[-1]:
                self.tables[self._table[-1]].append(self._row)
            self._row = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            if self._glued and self._cell:
                self._cell[-1] += data
            else:
                self._cell.append(data)
        self._glued = False
        if self._heading is not None:
            self._heading.append(data)

    def row(self, table: str, first_cell: str) -> list[str]:
        for r in self.tables[table]:
            if r and r[0] == first_cell:
                return r
        raise AssertionError(f"no row {first_cell!r} in table {table}: {self.tables[table]}")


def report_of(run_dir: Path) -> tuple[str, Doc]:
    path = build_reports(run_dir)
    assert path == run_dir / "report.html"
    html = path.read_text("utf-8")
    return html, Doc(html)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    return {
        "complete": write_sample_run(base / "a"),
        "failed": write_sample_run(base / "b", fail=True),
        "partial": write_sample_run(base / "c", partial=True),
        "hostile": write_sample_run(base / "d", hostile=True),
    }


def test_complete_run_has_the_certificate_annex_sections(runs):
    html, doc = report_of(runs["complete"])
    for heading in ("Test Report", "Test Result Summary", "Performance Measurement Results",
                    "Test Configuration", "OCPP Charging Station Configuration", "Plots",
                    "Test cases"):
        assert heading in doc.headings
    assert "partial-run" not in doc.ids
    assert 'class="v v-PASS">PASS' in html.split("Overall verdict", 1)[1][:80]


def test_header_names_station_bench_and_run(runs):
    html, _ = report_of(runs["complete"])
    rows = dict(_kv_rows(html, "Test Report"))
    assert rows["Vendor name"] == "Flo"
    assert rows["Model"] == "SmartDC"
    assert rows["Serial number"] == "SDC3-000142"
    assert rows["Firmware version"] == "v8.8.15"
    assert rows["Communication"] == "JSON / Ethernet"
    assert rows["Bench version"] == "0.1.0"
    assert rows["Rig"] == "rigs/sim.toml"
    assert rows["Campaign"] == "core"
    assert rows["Operator"] == "ci"
    assert rows["Started (UTC)"] == "2026-11-23T21:00:00.000Z"


def _kv_rows(html: str, after_heading: str) -> list[tuple[str, str]]:
    part = html.split(f">{after_heading}</h2>", 1)[1].split("</table>", 1)[0] + "</table>"
    doc = Doc(part.replace('<table class="kv">', '<table class="kv" id="t">', 1))
    return [(r[0], r[1]) for r in doc.tables["t"]]


def test_profile_summary_and_case_list(runs):
    _, doc = report_of(runs["failed"])
    core = doc.row("profile-summary", "Core declared in PICS")
    assert core[1] == "FAIL"
    assert "FAIL 2" in core[2] and "PASS 6" in core[2] and "BLOCKED 1" in core[2]
    assert "TC_012_CS FAIL" in core[3]
    for profile in ("Firmware Management", "Smart Charging", "Reservation",
                    "Local Authorization List Management", "Remote Trigger"):
        assert doc.row("profile-summary", profile)[1] == "N/A"
    stop = doc.row("case-list", "TC_012_CS")
    assert stop[1:4] == ["Remote Stop Charging Session", "Core", "FAIL"]
    assert "reason 'Local'" in stop[5]
    assert doc.row("case-list", "TC_068_CS")[3] == "BLOCKED"
    assert doc.row("case-list", "TC_062_CS")[4] == "2"  # two attempts
    codes = {r[0]: r for r in doc.tables["findings-table"][1:]}
    assert set(codes) == {"METERVALUES_INTERVAL", "WRONG_STOP_REASON"}
    assert codes["WRONG_STOP_REASON"][1] == "TC_012_CS"
    assert "expected 'Remote'" in codes["WRONG_STOP_REASON"][2]


def test_performance_table_shows_limits_and_statistics(runs):
    report_of(runs["failed"])
    perf = _perf_rows(runs["failed"])
    interval = next(r for r in perf if r[0] == "MeterValues sample interval")
    # name, case, PICS value, n, min, median, p95, max, unit, verdict
    assert interval[1] == "TC_070_CS"
    assert interval[2].startswith("9 ≤ max ≤ 11")
    assert interval[3:8] == ["11", "15", "15", "15", "15"]
    assert interval[8:10] == ["s", "FAIL"]
    timeout = next(r for r in perf if r[0] == "OCPP response timeout")
    assert timeout[2].startswith("max ≤ 30") and timeout[9] == "PASS"


def _perf_rows(run_dir: Path) -> list[list[str]]:
    """The rows of every measurement table under the headline (one table per group)."""
    html = (run_dir / "report.html").read_text("utf-8")
    part = html.split('id="performance"', 1)[1].split('id="configuration"', 1)[0]
    tables = part.split('<table class="perf">')[1:]
    rows = []
    for i, t in enumerate(tables):
        rows += Doc(f'<table id="p{i}">' + t.split("</table>", 1)[0] + "</table>").tables[
            f"p{i}"][1:]
    return rows


def test_test_configuration_and_instruments(runs):
    _, doc = report_of(runs["complete"])
    assert doc.row("cfg-1", "fixed_cable")[1] == "Yes"
    assert doc.row("cfg-1", "communication")[1] == "Ethernet"
    assert doc.row("cfg-2", "flo:WelcomeMessage")[1] == "Tenez votre carte près du lecteur"
    assert doc.row("cfg-3", "remote_start_response_s")[1] == "10"
    meter = doc.row("instruments", "meter")
    assert meter[2] == "TCPIP::127.0.0.1::15025::SOCKET"
    assert meter[3] == "BENCHSIM,PM-SIM,0001,1.0"


def test_station_configuration_start_end_and_changes(runs):
    _, doc = report_of(runs["failed"])
    table = "station-config-table"
    assert doc.tables[table][0] == ["Configuration key", "Value (start)", "Read-only",
                                    "Value (end)", "Changes during the run"]
    mvsi = doc.row(table, "MeterValueSampleInterval")
    assert mvsi[1:3] == ["10", "No"]
    assert "15 → Accepted (TC_021_CS" in mvsi[4] and "10 → Accepted" in mvsi[4]
    heartbeat = doc.row(table, "HeartbeatInterval")
    assert heartbeat[1] == "30" and heartbeat[3] == "60"
    assert doc.row(table, "NumberOfConnectors")[2] == "Yes"


def test_case_section_has_verdict_checks_chart_findings_and_raw_frames(runs):
    html, _ = report_of(runs["failed"])
    section = html.split('id="case-TC_012_CS"', 1)[1].split("</section>", 1)[0]
    assert "StopTransaction reason &#39;Local&#39;, expected &#39;Remote&#39;" in section
    assert "<li>StopTransaction reason Remote</li>" in section
    assert "WRONG_STOP_REASON" in section  # the finding
    assert "RemoteStopTransaction" in section and "→ Accepted" in section
    assert "◀──CALL──" in section and "──CALL──▶" in section  # both directions charted
    assert "◆ <span class=\"lbl\">unplug</span>" in section  # the physical action
    assert '<details class="raw"><summary>Raw frames (' in section
    assert '&#34;reason&#34;:&#34;Local&#34;' in section  # the raw StopTransaction, escaped
    attempts = html.split('id="case-TC_062_CS"', 1)[1].split("</section>", 1)[0]
    assert 'data-attempt="1"' in attempts and 'data-attempt="2"' in attempts
    assert "card presenter 127.0.0.1:35963" in attempts


def test_plots_are_inline_svg(runs):
    html, doc = report_of(runs["complete"])
    plots = html.split('id="plots"', 1)[1].split('id="cases"', 1)[0]
    for title in ("Clock: station timestamps against the bench",
                  "CALLs, per action",
                  "Energy: station register against the reference meter"):
        assert title in plots
    assert plots.count("<svg") >= 3
    # the interval measurement exists, so its own plot (in TC_070) replaces the derived one
    assert "MeterValues intervals (station timestamps)" not in plots
    tc070 = html.split('id="case-TC_070_CS"', 1)[1].split("</section>", 1)[0]
    assert "<svg" in tc070 and "MeterValues sample interval" in tc070
    assert doc.tags.get("script", 0) == 0 and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_partial_run_says_where_it_stopped(runs):
    html, doc = report_of(runs["partial"])
    assert "partial-run" in doc.ids
    rows = dict(_kv_rows_in(html, 'id="partial-run"'))
    assert rows["Run status"].startswith("running")
    assert rows["Last case"] == "TC_070_CS"
    assert rows["Last frame (UTC)"].startswith("2026-11-23T21:0")
    assert rows["Cases without verdict"] == "TC_070_CS"
    assert doc.row("case-list", "TC_070_CS")[3] == "INCOMPLETE"
    assert "TC_012_CS" not in doc.tables["case-list"].__repr__()


def _kv_rows_in(html: str, marker: str) -> list[tuple[str, str]]:
    part = html.split(marker, 1)[1].split("</table>", 1)[0]
    part = part[part.index("<table"):].replace('<table class="kv">', '<table id="t">', 1)
    return [(r[0], r[1]) for r in Doc(part + "</table>").tables["t"]]


def test_hostile_station_text_is_escaped_and_secrets_never_appear(runs):
    html, doc = report_of(runs["hostile"])
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert doc.tags.get("script", 0) == 0
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # non-OCPP config text stays text
    rows = dict(_kv_rows(html, "Test Report"))
    assert rows["Vendor name"] == HOSTILE  # shown as text
    for name in ("report.html", "summary.json", "junit.xml"):
        text = (runs["hostile"] / name).read_text("utf-8")
        assert SECRET not in text, f"secret in {name}"
    assert "Basic «redacted»" in html or "«redacted»" in html
    assert doc.row("station-config-table", "AuthorizationKey")[1] == "«redacted»"


def test_pytest_report_is_linked_when_present(runs):
    _, doc = report_of(runs["complete"])
    assert "pytest-report.html" not in doc.links
    (runs["complete"] / "pytest-report.html").write_text("<html></html>")
    try:
        _, doc = report_of(runs["complete"])
        assert "pytest-report.html" in doc.links
    finally:
        (runs["complete"] / "pytest-report.html").unlink()


def test_long_case_is_capped_with_a_pointer_to_the_record(tmp_path):
    rec = RunRecord.create(tmp_path, "long")
    sc = ScriptedStation(rec, "CS-1", dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC))
    with sc.clock():
        rec.current_case = "SOAK_1H"
        for _ in range(400):
            sc.advance(10)
            sc.station_call("Heartbeat", {})
        rec.verdict(VerdictRecord("SOAK_1H", Verdict.PASS, "ok", name="1-hour soak"))
        rec.close()
    html, doc = report_of(rec.path)
    section = html.split('id="case-SOAK_1H"', 1)[1].split("</section>", 1)[0]
    chart = section.split('<table class="seq">', 1)[1].split("</table>", 1)[0]
    assert chart.count('<tr class="in') + chart.count('<tr class="out') == CHART_HEAD + CHART_TAIL
    assert f"{800 - CHART_HEAD - CHART_TAIL} entries omitted" in chart
    assert "frames.jsonl" in chart
    raw = section.split('<details class="raw">', 1)[1]
    assert f"{800 - RAW_HEAD - RAW_TAIL} frames omitted" in raw
    assert doc.row("case-list", "SOAK_1H")[2] == "Other"
    summary = json.loads((rec.path / "summary.json").read_text())
    assert summary["record"]["frames"] == 800


# -- the report of a real short run (support/realrun.py) and of station text that hides ------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_report_of_a_real_run_shows_what_its_record_holds(real_run):
    html = (real_run.path / "report.html").read_text("utf-8")
    doc = Doc(html)
    run = load_run(real_run.path)
    judged = run_verdict(run)
    assert judged.verdict == "PASS" and real_run.exit_code == judged.exit_code == 0
    overall = html.split("Overall verdict", 1)[1][:80]
    assert f'class="v v-{judged.verdict}">{judged.verdict}' in overall
    # the case list is the record's verdicts, case by case, in the order the run took them
    listed = {r[0]: r for r in doc.tables["case-list"][1:]}
    assert list(listed) == [c.case for c in judged.cases] == sorted(CASES_RUN)  # module order
    for c in judged.cases:
        assert listed[c.case][3] == c.verdict and listed[c.case][5] == c.message, c.case
    assert listed["TC_017_1_CS"][3] == "N/A" and "fixed_cable = true" in listed["TC_017_1_CS"][5]
    # the header is the station as it booted and the run as run.json has it
    station = run.snapshots["station"]
    rows = dict(_kv_rows(html, "Test Report"))
    assert (rows["Vendor name"], rows["Model"], rows["Firmware version"]) == (
        station["chargePointVendor"], station["chargePointModel"], station["firmwareVersion"])
    assert rows["Station id"] == run.meta["station_id"] and rows["Run id"] == run.meta["id"]
    assert rows["OCPP version"] == "1.6 (OCPP-J, subprotocol ocpp1.6)"
    assert rows["Rig"] == "rigs/sim.toml (simulated rig)"
    # every measurement of the record is in the performance tables, with its outcome
    shown = {(r[0], r[1]): r[-1] for r in _perf_rows(real_run.path) if len(r) > 2}
    recorded = {(m["name"], m["case"] or "run"): m["outcome"] for m in run.measurements
                if m.get("scope") != CASE_SAMPLES}
    assert shown == recorded
    assert recorded[("meter_values.sample_interval", "TC_070_CS")] == "PASS"
    # each case's section holds the frames the record tagged with it
    for case in ("TC_001_CS", "TC_070_CS"):
        section = html.split(f'id="case-{case}"', 1)[1].split("</section>", 1)[0]
        n = sum(1 for f in run.frames if f["case"] == case)
        assert f"; {n} frame(s)" in section, case
    tc070 = html.split('id="case-TC_070_CS"', 1)[1].split("</section>", 1)[0]
    for action in ("StartTransaction", "MeterValues", "StopTransaction"):
        assert f'<span class="lbl">{action}</span>' in tc070, action
    # the pre-state the case set is in the station's configuration table
    mvsi = doc.row("station-config-table", "MeterValueSampleInterval")
    assert "2 → Accepted (TC_070_CS" in mvsi[4]
    assert doc.row("cfg-5", "Fault profiles (non-conformances injected)")[1] == "none"
    assert doc.row("cfg-5", "Behaviour profiles (conformant but unusual)")[1] == "none"
    plots = html.split('id="plots"', 1)[1].split('id="cases"', 1)[0]
    for title in ("Clock: station timestamps against the bench", "CALLs, per action",
                  "Energy: station register against the reference meter"):
        assert title in plots, title


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_rebuilt_report_is_the_one_bench_run_wrote(real_run, tmp_path):
    """Reports are a function of the run directory: `bench report` gives the same bytes."""
    from bench.commands import report as report_cmd

    copy = real_run.copy(tmp_path)
    (copy / "report.html").unlink()
    (copy / "junit.xml").unlink()
    assert report_cmd.main([str(copy)]) == real_run.exit_code
    for name in ("report.html", "junit.xml"):
        assert (copy / name).read_bytes() == (real_run.path / name).read_bytes(), name


def test_station_text_is_made_visible_wherever_the_report_shows_it(tmp_path):
    run = write_controls_run(tmp_path)
    html = build_reports(run).read_text("utf-8")
    hidden = sorted({f"U+{ord(c):04X}" for c in html if not c.isprintable() and c != "\n"})
    assert hidden == []  # no bidi override, ESC, NUL, zero-width space, line separator
    shown = "\\u202eevil\\x1b[2J\\x00\\u200b\\u2028"
    rows = dict(_kv_rows(html, "Test Report"))
    assert rows["Vendor name"] == f"Flo{shown}" and rows["Firmware version"] == f"v8{shown}"
    doc = Doc(html)
    assert doc.row("cfg-2", "flo:CustomMessage")[1] == f"hello{shown}"
    assert doc.row("station-config-table", "flo:Greeting")[1] == f"hi{shown}"
    assert doc.row("instruments", "ev1")[3] == f"BENCH-EV{shown}"
    assert doc.row("case-list", "TC_012_CS")[5] == f"the station sent reason Local{shown}"
    assert doc.row("findings-table", "WRONG_STOP_REASON")[2] == f"reason {shown}"
    section = html.split('id="case-TC_012_CS"', 1)[1].split("</section>", 1)[0]
    assert f"<li>StopTransaction reason Remote{shown}</li>" in section
    # the page header of the PDF names the station: an escaped CSS string, no raw control
    assert "\\00202e" in html.split("@top-right", 1)[1][:400]


def test_test_configuration_names_fault_and_behaviour_profiles(tmp_path):
    rec = RunRecord.create(tmp_path, "profiles", simulated=True, faults=["clock_ahead"],
                           behaviours=["heartbeat_skips_and_queues"])
    rec.verdict(VerdictRecord("TC_003_CS", Verdict.FAIL, "measurement clock.offset = 9.9 s"))
    rec.close()
    html, doc = report_of(rec.path)
    assert doc.row("cfg-5", "Fault profiles (non-conformances injected)")[1] == "clock_ahead"
    assert doc.row("cfg-5", "Behaviour profiles (conformant but unusual)")[1] == (
        "heartbeat_skips_and_queues")
    rows = dict(_kv_rows(html, "Test Report"))
    assert rows["Injected faults (simulator)"] == "clock_ahead"
    assert rows["Behaviour profiles (simulator)"] == "heartbeat_skips_and_queues"
    # a real station's run names none: no simulator section at all
    real = RunRecord.create(tmp_path, "real", simulated=False, faults=[], behaviours=[])
    real.close()
    _, doc = report_of(real.path)
    assert "Simulated station profiles" not in doc.headings


def test_firmware_row_names_each_version_the_station_booted_with():
    """An update in a case (TC_044_1) must not relabel the cases that ran on the old image."""
    from reports.context import _firmware_row

    def boot(version, case, msg_type=2):
        return {"action": "BootNotification", "msg_type": msg_type, "case": case,
                "raw": json.dumps([msg_type, "m", "BootNotification",
                                   {"firmwareVersion": version}])}

    station = {"firmwareVersion": "v2"}
    assert _firmware_row(station, [boot("v1", None), boot("v1", "TC_003_CS")]) == "v2"
    frames = [boot("v1", None), boot("v1", "TC_003_CS"), boot("v2", "TC_044_1_CS"),
              {"action": "BootNotification", "msg_type": 2, "raw": "not json"}]
    assert _firmware_row(station, frames) == "v1 at the first boot; v2 from TC_044_1_CS"

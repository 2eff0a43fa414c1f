"""Everything the report shows, computed once from a loaded run (templates only lay it out)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record.model import CASE_SAMPLES
from bench.record.reader import RunData
from reports.cases import CaseSection, case_sections
from reports.catalog import declared_profiles
from reports.frames import CALL, FrameIndex, payload_of
from reports.headline import HeadlineRow, headline
from reports.measurements import PerfGroup, PerfRow, perf_groups, perf_rows
from reports.plots import Plot, run_plots
from reports.redact import redact
from reports.stationconfig import ConfigKey, config_table
from reports.timebase import Timebase
from reports.verdicts import (
    CaseResult,
    ProfileSummary,
    counts,
    judged_cases,
    profile_summary,
)

PYTEST_REPORT = "pytest-report.html"


@dataclass
class Header:
    rows: list[tuple[str, str]]  # the certificate's "Test Report" block, in order
    verdict: str
    partial: bool
    status: str
    stopped_at: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ReportContext:
    run_id: str
    header: Header
    profiles: list[ProfileSummary]
    counts: dict[str, int]
    cases: list[CaseResult]
    perf: list[PerfRow]
    headline: list[HeadlineRow]
    perf_groups: list[PerfGroup]
    test_config: list[tuple[str, list[tuple[str, str]]]]
    instruments: list[dict[str, str]]
    station_config: list[ConfigKey]
    has_config_end: bool
    sections: list[CaseSection]
    plots: list[Plot]
    pytest_report: str | None
    rig_json: str
    torn_lines: int
    frame_count: int
    event_count: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    print_station: str = ""  # the station as the PDF's page header names it
    exit_code: int | None = None  # what `bench run` / `bench report` exit with (run_verdict)


def print_station(header: Header) -> str:
    """`SMARTDC-SIM-01 – Flo SmartDC, firmware v8.8.15` from the Test Report rows."""
    rows = {k: v for k, v in header.rows if v and v != "–"}
    product = " ".join(v for v in (rows.get("Vendor name"), rows.get("Model")) if v)
    if rows.get("Firmware version"):
        product = ", ".join(x for x in (product, f"firmware {rows['Firmware version']}") if x)
    station = rows.get("Station id") or "station not recorded"
    return f"{station} – {product}" if product else station


def _text(v: Any) -> str:
    if v is None or v == "":
        return "–"
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, list):
        return ", ".join(_text(x) for x in v)
    return str(v)


def _pairs(data: Any) -> list[tuple[str, str]]:
    """Key/value rows from a dict or a list of {key, value} items (non-OCPP configuration)."""
    data = redact(data)
    if isinstance(data, dict):
        return [(str(k), _text(v)) for k, v in data.items()]
    if isinstance(data, list):
        out = []
        for item in data:
            if isinstance(item, dict) and "key" in item:
                out.append((str(item["key"]), _text(item.get("value"))))
            elif isinstance(item, dict) and "name" in item:
                out.append((str(item["name"]), _text(item.get("value"))))
        return out
    return []


def seen_cases(*streams: list[dict[str, Any]]) -> list[str]:
    order: dict[str, int] = {}
    for rows in streams:
        for r in rows:
            c = r.get("case")
            if c and c not in order:
                order[c] = r.get("seq", 0)
    return sorted(order, key=order.__getitem__)


def _effective(snaps: dict[str, Any]) -> dict[str, Any]:
    """The settings the campaign ran with (PICS values with the plan's overrides)."""
    plan = snaps.get("plan") if isinstance(snaps.get("plan"), dict) else {}
    eff = plan.get("settings_effective")
    return eff if isinstance(eff, dict) else {}


def _settings(snaps: dict[str, Any], station_cfg: list[ConfigKey]) -> dict[str, Any]:
    """Intervals and limits the plots draw as reference lines."""
    pics = snaps.get("pics") if isinstance(snaps.get("pics"), dict) else {}
    cfg = {k.key: k.value for k in station_cfg}
    eff = _effective(snaps)

    def num(*vals: Any) -> float | None:
        for v in vals:
            try:
                if v is not None and float(v) > 0:
                    return float(v)
            except (TypeError, ValueError):
                continue
        return None

    meter_conn = None
    rig = snaps.get("rig") if isinstance(snaps.get("rig"), dict) else {}
    meter = (rig.get("instruments") or {}).get("meter") if isinstance(rig.get("instruments"),
                                                                       dict) else None
    if isinstance(meter, dict):
        meter_conn = meter.get("connector") or (meter.get("params") or {}).get("connector")
    return {
        "sample_interval": num(eff.get("meter_value_sample_interval_s"),
                               cfg.get("MeterValueSampleInterval"),
                               pics.get("meter_value_sample_interval_s")),
        "aligned_interval": num(eff.get("clock_aligned_data_interval_s"),
                                cfg.get("ClockAlignedDataInterval"),
                                pics.get("clock_aligned_data_interval_s")),
        "response_timeout": num(eff.get("ocpp_response_timeout_s"),
                                pics.get("ocpp_response_timeout_s")),
        "time_deviation": num(eff.get("max_time_deviation_s"), pics.get("max_time_deviation_s")),
        "meter_connector": meter_conn if isinstance(meter_conn, int) else None,
    }


def run_measurements(measurements: list[dict[str, Any]],
                     cases: list[CaseResult]) -> list[dict[str, Any]]:
    """The Performance Measurement Results: every measurement of a case's final attempt and
    the run-wide series; a case's share of a run-wide series is shown in its section only."""
    final = {c.case: (c.final or {}).get("attempt") for c in cases}
    return [m for m in measurements if m.get("scope") != CASE_SAMPLES and (
        m.get("case") is None or not isinstance(final.get(m["case"]), int)
        or m.get("attempt") in (None, final[m["case"]]))]


def _first_detail(events: list[dict[str, Any]], kind: str, key: str) -> Any:
    for e in events:
        if e.get("kind") == kind and isinstance(e.get("detail"), dict) and key in e["detail"]:
            return e["detail"][key]
    return None


def _firmware_changes(frames: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(firmwareVersion, case) at each BootNotification that named a version other than the
    boot before: the station snapshot keeps only the last boot's, and an update in a case
    (TC_044_1) would otherwise relabel every case that ran before it."""
    changes: list[tuple[str, str | None]] = []
    for f in frames:
        if f.get("action") != "BootNotification" or f.get("msg_type") != CALL:
            continue
        payload = payload_of(f)
        version = payload.get("firmwareVersion") if isinstance(payload, dict) else None
        if isinstance(version, str) and (not changes or changes[-1][0] != version):
            changes.append((version, f.get("case")))
    return changes


def _firmware_row(station: dict[str, Any], frames: list[dict[str, Any]]) -> Any:
    changes = _firmware_changes(frames)
    if len(changes) < 2:
        return station.get("firmwareVersion")
    return "; ".join([f"{changes[0][0]} at the first boot"]
                     + [f"{v} from {case or 'a boot between cases'}" for v, case in changes[1:]])


def _ocpp_version(events: list[dict[str, Any]]) -> str:
    """From the negotiated websocket subprotocol, as the station connected."""
    sub = _first_detail(events, "connection", "subprotocol")
    return f"1.6 (OCPP-J, subprotocol {sub})" if sub else "1.6 (OCPP-J)"


def _header(run: RunData, verdict: str, cases: list[CaseResult]) -> Header:
    meta, snaps = run.meta, run.snapshots
    station = redact(snaps.get("station")) if isinstance(snaps.get("station"), dict) else {}
    hardware = snaps.get("hardware") if isinstance(snaps.get("hardware"), dict) else {}
    rig = snaps.get("rig") if isinstance(snaps.get("rig"), dict) else {}
    bench_cfg = rig.get("bench") if isinstance(rig.get("bench"), dict) else {}
    plan = snaps.get("plan")
    plan_name = meta.get("plan") or (plan.get("name") if isinstance(plan, dict) else plan)
    station_id = meta.get("station_id") or next(
        (f.get("station") for f in run.frames[:50] if f.get("station")), None)
    rows = [
        ("Vendor name", station.get("chargePointVendor")),
        ("Model", station.get("chargePointModel")),
        ("Serial number", station.get("chargePointSerialNumber")
         or station.get("chargeBoxSerialNumber")),
        ("Firmware version", redact(_firmware_row(station, run.frames))),
        ("OCPP version", meta.get("ocpp_version") or _ocpp_version(run.events)),
        ("Security profile", _first_detail(run.events, "handshake", "security_profile")),
        ("Station id", station_id),
        ("Communication", " / ".join(str(x) for x in ("JSON", hardware.get("communication")) if x)),
        ("Bench version", meta.get("bench_version")),
        ("Git revision", meta.get("git_revision")),
        ("Rig", " ".join(str(x) for x in (
            meta.get("rig") or rig.get("path") or rig.get("name") or "–",
            "(simulated rig)" if meta.get("simulated") else "") if x)),
        ("Campaign", " – ".join(str(x) for x in (
            plan_name, plan.get("description") if isinstance(plan, dict) else None) if x)),
        ("Started (UTC)", meta.get("started_utc")),
        ("Ended (UTC)", meta.get("ended_utc")),
        ("Operator", meta.get("operator") or bench_cfg.get("operator")),
        ("Run id", meta.get("id") or run.path.name),
    ]
    if meta.get("faults"):
        rows.append(("Injected faults (simulator)", meta["faults"]))
    if meta.get("behaviours"):
        rows.append(("Behaviour profiles (simulator)", meta["behaviours"]))
    status = str(meta.get("status") or "running")
    header = Header([(k, _text(redact(v))) for k, v in rows], verdict, run.partial, status)
    if run.partial:
        last_case = next((r.get("case") for stream in (run.frames, run.events)
                          for r in reversed(stream[-1:]) if r.get("case")), None)
        tails = [s[-1] for s in (run.frames, run.events, run.verdicts) if s]
        last = max(tails, key=lambda r: r.get("seq", 0)) if tails else {}
        header.stopped_at = [
            ("Run status", f"{status} (the run did not complete)"),
            ("Last case", _text(last.get("case") or last_case)),
            ("Last frame (UTC)", _text(run.frames[-1].get("utc") if run.frames else None)),
            ("Last record line", f"seq {last.get('seq', '–')} at {last.get('utc', '–')}"),
            ("Cases without verdict", _text([c.case for c in cases if not c.attempts]) or "none"),
        ]
    return header


def station_profiles(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The simulated station's fault and behaviour profiles the run asked for (run.json): a
    fault must make the cases it names FAIL, a behaviour is conformant and must leave its
    cases PASSing; "none" when the run recorded an empty list, nothing for a record without
    them; nothing at all for a real station's run that names none."""
    rows = []
    for key, title in (("faults", "Fault profiles (non-conformances injected)"),
                       ("behaviours", "Behaviour profiles (conformant but unusual)")):
        if isinstance(meta.get(key), list):
            rows.append((title, _text(meta[key]) if meta[key] else "none"))
    if not meta.get("simulated") and all(v == "none" for _, v in rows):
        return []
    return rows


def build_context(run: RunData) -> ReportContext:
    snaps = run.snapshots
    index = FrameIndex.build(run.frames)
    tb = Timebase.of_run(run.meta, [run.frames, run.events])
    judged, cases = judged_cases(run, seen_cases(run.frames, run.events, run.measurements,
                                                 run.verdicts))
    verdict = judged.verdict
    station_cfg = config_table(snaps.get("station_config_start"), snaps.get("station_config_end"),
                               index)
    declared = declared_profiles(snaps.get("pics"), snaps.get("station_config_start"))
    instruments = []
    listed = redact(snaps.get("instruments")) or []
    if isinstance(listed, dict):  # {name: {...}} is accepted too
        listed = [{"name": k, **v} for k, v in listed.items() if isinstance(v, dict)]
    for item in listed:
        if isinstance(item, dict):
            instruments.append({k: _text(item.get(k)) for k in ("name", "driver", "address",
                                                                 "identity")})
    shown = run_measurements(run.measurements, cases)
    perf = perf_rows(shown)
    # run.json names it (pytest-html writes it after these reports); older records: if there
    named = run.meta.get("pytest_report")
    pytest_report = str(named) if isinstance(named, str) and "/" not in named else (
        PYTEST_REPORT if (Path(run.path) / PYTEST_REPORT).exists() else None)
    header = _header(run, verdict, cases)
    return ReportContext(
        run_id=str(run.meta.get("id") or run.path.name),
        header=header,
        print_station=print_station(header),
        profiles=profile_summary(cases, declared),
        counts=counts(cases),
        cases=cases,
        perf=perf,
        headline=headline(shown, snaps.get("pics")),
        perf_groups=perf_groups(perf),
        test_config=[
            ("Hardware feature set", _pairs(snaps.get("hardware"))),
            ("Non-OCPP Charge Point Configuration", _pairs(snaps.get("non_ocpp_config"))),
            ("PICS values and limits", _pairs(snaps.get("pics"))),
            ("Campaign settings in effect (PICS values with the plan's overrides)",
             _pairs(_effective(snaps))),
        ] + ([("Simulated station profiles", profiles)]
             if (profiles := station_profiles(run.meta)) else []),
        instruments=instruments,
        station_config=station_cfg,
        has_config_end=snaps.get("station_config_end") is not None,
        sections=case_sections(cases, run.frames, run.events, run.measurements, index, tb),
        plots=run_plots(run.frames, run.events, run.measurements, index, tb,
                        _settings(snaps, station_cfg)),
        pytest_report=pytest_report,
        rig_json=json.dumps(redact(snaps.get("rig")), indent=2, ensure_ascii=False, default=str)
        if snaps.get("rig") is not None else "",
        torn_lines=run.torn_lines,
        findings=[{"case": e.get("case"), "code": str(e.get("name") or ""),
                   "message": str(redact((e.get("detail") or {}).get("message") or "")),
                   "seq": e.get("seq"), "utc": e.get("utc")}
                  for e in run.events if e.get("kind") == "finding"],
        frame_count=len(run.frames),
        event_count=len(run.events),
        exit_code=judged.exit_code,
    )

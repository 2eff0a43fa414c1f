"""summary.json: the machine-readable digest (meta, counts, verdict per case, measurement stats)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.record.reader import RunData
from reports.context import ReportContext
from reports.measurements import stats_of
from reports.redact import redact

SCHEMA = "bench-summary/1"


def summary(run: RunData, ctx: ReportContext) -> dict[str, Any]:
    station = run.snapshots.get("station") if isinstance(run.snapshots.get("station"), dict) else {}
    return {
        "schema": SCHEMA,
        "run_id": ctx.run_id,
        "meta": redact(run.meta),
        "station": redact({k: station.get(k) for k in (
            "chargePointVendor", "chargePointModel", "chargePointSerialNumber",
            "chargeBoxSerialNumber", "firmwareVersion")}),
        "verdict": ctx.header.verdict,
        "exit_code": ctx.exit_code,
        "partial": ctx.header.partial,
        "counts": ctx.counts,
        "profiles": {p.name: {"result": p.result, "counts": p.counts,
                              "cases": [c.case for c in p.cases]} for p in ctx.profiles},
        "cases": [{
            "case": c.case, "name": c.name, "profile": c.profile, "verdict": c.verdict,
            "message": c.message, "attempts": len(c.attempts),
            "duration_s": (c.final or {}).get("duration_s"),
        } for c in ctx.cases],
        "measurements": [{
            "name": m.get("name"), "case": m.get("case"), "unit": m.get("unit"),
            "stats": stats_of(m), "limits": m.get("limits"), "outcome": m.get("outcome"),
        } for m in run.measurements],
        "findings": ctx.findings,
        "station_config": {k.key: k.value for k in ctx.station_config if k.value is not None},
        "record": {"frames": ctx.frame_count, "events": ctx.event_count,
                   "torn_lines": ctx.torn_lines},
    }


def write_summary(run: RunData, ctx: ReportContext, run_dir: Path) -> Path:
    target = Path(run_dir) / "summary.json"
    target.write_text(json.dumps(summary(run, ctx), indent=2, ensure_ascii=False, default=str),
                      "utf-8")
    return target

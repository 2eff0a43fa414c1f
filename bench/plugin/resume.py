"""Resuming a campaign (design rule 24): what a run directory still owes, and its record reopened.

A case is settled when its last verdict is PASS, FAIL or N/A (N/A is the station's answer, not
a bench mishap) and, with repetitions, it has as many settled attempts as the run asked for.
ERROR, BLOCKED or no verdict at all (the run was cut off) mean: run it again. The resumed
attempts go into the same record, numbered on from the last attempt of that case, counting
an attempt that was killed before its verdict (its lines stay, labelled with its number).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record import RunRecord, Verdict
from bench.record.reader import read_jsonl
from bench.record.writer import utc_now

SETTLED = {str(Verdict.PASS), str(Verdict.FAIL), str(Verdict.NA)}


class ResumeError(ValueError):
    """RUN_DIR cannot be resumed; the message says why and what was looked for."""


@dataclass
class ResumeState:
    run_dir: Path
    meta: dict[str, Any]
    plan_ref: str  # a plan path (from the plan snapshot) or name
    rig_path: Path
    cases: list[str]  # the run's selection (empty: every case of the plan's suites)
    repeat: int
    faults: list[str]
    verdicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    started: dict[str, int] = field(default_factory=dict)  # case -> last attempt started

    def attempts(self, case: str) -> int:
        judged = max((int(v.get("attempt") or 0) for v in self.verdicts.get(case, [])),
                     default=len(self.verdicts.get(case, [])))
        return max(judged, self.started.get(case, 0))

    def settled(self, case: str) -> bool:
        lines = self.verdicts.get(case, [])
        if not lines or lines[-1].get("verdict") not in SETTLED:
            return False
        return sum(v.get("verdict") in SETTLED for v in lines) >= self.repeat

    def to_run(self, selection: list[str]) -> list[str]:
        return [c for c in selection if not self.settled(c)]

    def outcomes(self) -> dict[str, Verdict]:
        """Last verdict of each case: `depends=` of a re-run case sees its prerequisite."""
        return {c: Verdict(v[-1]["verdict"]) for c, v in self.verdicts.items()
                if v and v[-1].get("verdict") in {str(x) for x in Verdict}}


def read_run(run_dir: Path, repo: Path) -> ResumeState:
    run_dir = Path(run_dir)
    meta_path = run_dir / "run.json"
    if not run_dir.is_dir():
        raise ResumeError(f"--resume {run_dir}: no such directory")
    if not meta_path.is_file():
        raise ResumeError(f"--resume {run_dir}: not a run directory (no run.json)")
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResumeError(f"--resume {run_dir}: run.json unreadable: {exc}") from None
    if not isinstance(meta, dict) or not meta.get("plan") or not meta.get("rig"):
        raise ResumeError(f"--resume {run_dir}: run.json names no plan and rig (not written "
                          "by bench run?)")
    plan_ref = str(meta.get("plan_path") or "")
    if not plan_ref:  # runs from before plan_path was recorded: the plan snapshot has it
        try:
            snap = json.loads((run_dir / "snapshots" / "plan.json").read_text("utf-8"))
            plan_ref = str(snap.get("path") or "")
        except (OSError, json.JSONDecodeError, AttributeError):
            plan_ref = ""
    if plan_ref and not Path(plan_ref).is_file():
        raise ResumeError(f"--resume {run_dir}: the run's plan file {plan_ref} is gone")
    plan_ref = plan_ref or str(meta["plan"])
    rig_path = _find_rig(run_dir, meta, repo)
    verdicts: dict[str, list[dict[str, Any]]] = {}
    rows, _ = read_jsonl(run_dir / "verdicts.jsonl")
    for v in sorted(rows, key=lambda r: r.get("seq", 0)):
        verdicts.setdefault(str(v.get("case")), []).append(v)
    started: dict[str, int] = {}
    events, _ = read_jsonl(run_dir / "events.jsonl")
    for e in events:  # the plugin's case-start line: also attempts that never got a verdict
        attempt = (e.get("detail") or {}).get("attempt") if e.get("name") == "case-start" \
            else None
        if isinstance(attempt, int) and e.get("case"):
            started[str(e["case"])] = max(started.get(str(e["case"]), 0), attempt)
    return ResumeState(run_dir=run_dir, meta=meta, plan_ref=plan_ref, rig_path=rig_path,
                       cases=[str(c).upper() for c in meta.get("cases") or []],
                       repeat=int(meta.get("repeat") or 1), faults=list(meta.get("faults") or []),
                       verdicts=verdicts, started=started)


def _find_rig(run_dir: Path, meta: dict[str, Any], repo: Path) -> Path:
    tried = []
    for candidate in (meta.get("rig_path"), meta.get("rig")):
        if not candidate:
            continue
        for p in (Path(candidate), repo / candidate):
            tried.append(str(p))
            if p.is_file():
                return p.resolve()
    raise ResumeError(f"--resume {run_dir}: the run's rig file is gone (tried "
                      f"{', '.join(dict.fromkeys(tried))})")


def reopen_record(state: ResumeState, **session: Any) -> tuple[RunRecord, int]:
    """The run's record, appended to: sequence numbers continue (the reports order verdicts by
    seq, so the resumed attempt is the final one), and run.json gets a `resumed` entry.
    Returns the record and the resume number (1 for the first resume)."""
    rec = RunRecord.reopen(state.run_dir)
    resumed = list(state.meta.get("resumed") or [])
    entry = {"n": len(resumed) + 1, "started_utc": utc_now(),
             "previous_status": state.meta.get("status"),
             "previous_ended_utc": state.meta.get("ended_utc"), **session}
    resumed.append(entry)
    rec.update_meta(resumed=resumed, status="running", ended_utc=None)
    return rec, entry["n"]


def finish_resume_entry(rec: RunRecord, n: int, status: str) -> None:
    resumed = [dict(r) for r in rec.meta.get("resumed") or []]
    for r in resumed:
        if r.get("n") == n:
            r.update(ended_utc=utc_now(), status=status)
    rec.update_meta(resumed=resumed)

"""How long the cases of a run will take, from earlier runs of the same rig and plan.

The runs folder holds every earlier run directory; those of the same rig file and plan give
each case's durations (`duration_s` of its verdict lines). A case's estimate is the median
of its durations over the latest runs; a case never run there has none, and the estimate of
the time left says how many such cases it leaves out. No earlier run: no estimate at all.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

RUNS_LOOKED_AT = 10  # the latest matching runs: a rig's timing drifts with its firmware
JUDGED = ("PASS", "FAIL", "N/A")  # an ERROR or BLOCKED attempt ends early: not its duration


@dataclass
class CaseDurations:
    """Case id -> its typical duration (s), from `runs` earlier runs."""

    typical_s: dict[str, float] = field(default_factory=dict)
    runs: int = 0

    def estimate(self, cases: list[str]) -> tuple[float, int]:
        """(seconds for the cases with an estimate, how many cases have none)."""
        known = [self.typical_s[c] for c in cases if c in self.typical_s]
        return sum(known), len(cases) - len(known)


def _same(meta: dict, rig_path: str, plan: str, plan_path: str | None) -> bool:
    if meta.get("rig_path") != rig_path:
        return False
    if plan_path and meta.get("plan_path"):
        return meta.get("plan_path") == plan_path
    return meta.get("plan") == plan


def earlier_durations(runs_dir: Path, rig_path: str, plan: str, plan_path: str | None = None,
                      exclude: Path | None = None) -> CaseDurations:
    """The durations of the latest RUNS_LOOKED_AT runs under runs_dir of this rig and plan
    (`exclude`: the run being made). Unreadable run directories are passed over."""
    out = CaseDurations()
    try:
        dirs = sorted((p for p in Path(runs_dir).iterdir() if p.is_dir()), reverse=True)
    except OSError:
        return out
    samples: dict[str, list[float]] = {}
    for run_dir in dirs:  # run directory names start with their UTC start: newest first
        if out.runs >= RUNS_LOOKED_AT:
            break
        if exclude is not None and run_dir.resolve() == Path(exclude).resolve():
            continue
        try:
            meta = json.loads((run_dir / "run.json").read_text("utf-8"))
            if not isinstance(meta, dict) or not _same(meta, rig_path, plan, plan_path):
                continue
            lines = (run_dir / "verdicts.jsonl").read_text("utf-8").splitlines()
        except (OSError, ValueError):
            continue
        took = False
        for text in lines:
            try:
                v = json.loads(text)
                seconds = float(v["duration_s"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn line of a killed run, or no duration
            if v.get("verdict") in JUDGED and seconds >= 0:
                samples.setdefault(str(v.get("case")), []).append(seconds)
                took = True
        out.runs += took
    out.typical_s = {c: statistics.median(s) for c, s in samples.items()}
    return out

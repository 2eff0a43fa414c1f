"""Case verdicts: final verdict per case, the overall verdict, the per-profile summary.

The verdicts themselves come from bench.record.verdict.run_verdict (one function for the
exit code, JUnit, summary.json and this report); this module only lays them out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.record.verdict import RUN_LEVEL, RunVerdict, run_verdict
from reports.catalog import PROFILES, name_of, profile_of

ORDER = ("PASS", "FAIL", "ERROR", "N/A", "BLOCKED", "INCOMPLETE")
INCOMPLETE = "INCOMPLETE"  # a case that was running when the run was cut off
VERDICT_DEFAULTS = {"verdict": "ERROR", "message": "", "name": "", "attempt": None,
                    "duration_s": None, "checks": [], "cause": None, "traceback": None,
                    "repetition": None, "repetitions": None}


@dataclass
class CaseResult:
    case: str
    name: str
    profile: str
    attempts: list[dict[str, Any]]  # verdict lines in the order written
    judged: str | None = None  # the verdict of run_verdict (it may differ from the line's)
    judged_message: str | None = None

    @property
    def final(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def verdict(self) -> str:
        if self.judged:
            return self.judged
        return str(self.final["verdict"]) if self.final else INCOMPLETE

    @property
    def message(self) -> str:
        if self.judged_message is not None:
            return self.judged_message
        if self.final:
            return str(self.final.get("message") or "")
        return "no verdict: the run stopped while this case was running"

    @property
    def slug(self) -> str:
        return "case-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in self.case)


def case_results(verdicts: list[dict[str, Any]], seen_cases: list[str]) -> list[CaseResult]:
    """One result per case, in the order cases first appear; cases without verdict included."""
    by_case: dict[str, CaseResult] = {}
    order: list[str] = []

    def get(case: str, name: str = "") -> CaseResult:
        if case not in by_case:
            by_case[case] = CaseResult(case, name or name_of(case), profile_of(case), [])
            order.append(case)
        return by_case[case]

    for case in seen_cases:
        get(case)
    for v in sorted(verdicts, key=lambda v: v.get("seq", 0)):
        v = {**VERDICT_DEFAULTS, **v}  # a line from another writer may lack fields
        if not v["attempt"]:
            prev = by_case.get(str(v.get("case")))
            v["attempt"] = len(prev.attempts) + 1 if prev else 1
        v["checks"] = v["checks"] or []
        res = get(str(v.get("case")), str(v.get("name") or ""))
        if v.get("name") and not res.name:
            res.name = str(v["name"])
        res.attempts.append(v)
    return [by_case[c] for c in order]


def judged_cases(run: Any, seen: list[str]) -> tuple[RunVerdict, list[CaseResult]]:
    """The run's verdict and one result per case carrying it (the run-level entry last)."""
    rv = run_verdict(run)
    results = case_results(run.verdicts, seen)
    by_case = {r.case: r for r in results}
    for c in rv.cases:
        res = by_case.get(c.case)
        if res is None:
            res = CaseResult(c.case, c.name, "Run" if c.case == RUN_LEVEL else profile_of(c.case),
                             [])  # "Run": no feature profile; not in the profiles' summary
            results.append(res)
        res.judged, res.judged_message = c.verdict, c.message
    return rv, results


def counts(cases: list[CaseResult]) -> dict[str, int]:
    c = Counter(r.verdict for r in cases)
    return {k: c.get(k, 0) for k in ORDER if c.get(k, 0) or k in ("PASS", "FAIL", "N/A")}


@dataclass
class ProfileSummary:
    name: str
    description: str
    result: str  # PASS, FAIL, ERROR, N/A, NOT TESTED, INCOMPLETE
    counts: dict[str, int] = field(default_factory=dict)
    cases: list[CaseResult] = field(default_factory=list)
    declared: bool = False
    optional: bool = True


def profile_summary(cases: list[CaseResult], declared: set[str]) -> list[ProfileSummary]:
    """The certificate's Test Result Summary: every certified profile, then any extra one run."""
    out = []
    for prof in PROFILES:
        mine = [c for c in cases if c.profile == prof.name]
        if not prof.certified and not mine:
            continue
        verdicts = {c.verdict for c in mine}
        if "FAIL" in verdicts:
            result = "FAIL"
        elif "ERROR" in verdicts:
            result = "ERROR"
        elif INCOMPLETE in verdicts:
            result = INCOMPLETE
        elif "BLOCKED" in verdicts:  # not judged: the bench could not run them (exit 3)
            result = "BLOCKED"
        elif "PASS" in verdicts:
            result = "PASS"
        elif prof.name in declared:
            result = "NOT TESTED"  # declared in the PICS but no case of it ran
        else:
            result = "N/A"
        out.append(ProfileSummary(
            name=prof.name, description=prof.description, result=result,
            counts=counts(mine) if mine else {}, cases=mine,
            declared=prof.name in declared, optional=prof.name != "Core",
        ))
    return out

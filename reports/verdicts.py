"""Case verdicts: final verdict per case, the overall verdict, the per-profile summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reports.catalog import PROFILES, name_of, profile_of

ORDER = ("PASS", "FAIL", "ERROR", "N/A", "BLOCKED", "INCOMPLETE")
INCOMPLETE = "INCOMPLETE"  # a case that was running when the run was cut off
VERDICT_DEFAULTS = {"verdict": "ERROR", "message": "", "name": "", "attempt": None,
                    "duration_s": None, "checks": [], "cause": None}


@dataclass
class CaseResult:
    case: str
    name: str
    profile: str
    attempts: list[dict[str, Any]]  # verdict lines in the order written

    @property
    def final(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def verdict(self) -> str:
        return str(self.final["verdict"]) if self.final else INCOMPLETE

    @property
    def message(self) -> str:
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


def overall_verdict(cases: list[CaseResult], measurements: list[dict[str, Any]],
                    partial: bool) -> str:
    verdicts = {c.verdict for c in cases}
    if "FAIL" in verdicts or any(m.get("outcome") == "FAIL" for m in measurements):
        return "FAIL"
    if "ERROR" in verdicts:
        return "ERROR"
    if partial or INCOMPLETE in verdicts:
        return INCOMPLETE
    if "BLOCKED" in verdicts:
        return "FAIL"
    if "PASS" in verdicts:
        return "PASS"
    return "N/A"


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
        if "FAIL" in verdicts or "BLOCKED" in verdicts:
            result = "FAIL"
        elif "ERROR" in verdicts:
            result = "ERROR"
        elif INCOMPLETE in verdicts:
            result = INCOMPLETE
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

"""The run's verdict, computed once, from the record alone.

`bench run` (its exit code), junit.xml, summary.json, report.html, `bench report`,
`bench compare` and `bench history` all call `run_verdict(load_run(path))`, so they cannot
disagree. The rules:

- A case's verdict is the one of its final attempt (the last verdict line of the case, in
  record order: a resumed case runs again). Repetitions (`--repeat N`, lines with
  `repetition`) are not re-attempts: every repetition of the case's last run of them is
  judged and the case stands as the worst of them (FAIL, ERROR, INCOMPLETE, BLOCKED, PASS,
  N/A in that order), with that repetition's message.
- A measurement that FAILed during that attempt fails the case (PASS or ERROR become FAIL,
  with the measurement's text): the station missed a limit, whatever else went wrong.
- A run-wide series (`ocpp.response_time.*`, `status_latency.*`, `clock.offset`, ...) is
  recorded once at the end of the run, with the case (`series_index`) and attempt
  (`series_attempt`) of every sample: the samples of a case's final attempt are judged
  against the series' limits as that case's own; samples taken outside every case (bring-up,
  between cases) are judged for the run-level entry `RUN`, which exists only when one of
  them failed and which JUnit shows as a failing test case of its own.
- A case with no verdict line (the run was cut off while it ran) is INCOMPLETE.
- Overall: FAIL if anything failed; else ERROR; else INCOMPLETE (cut off); else BLOCKED; else
  PASS if a case passed; else N/A.
- Exit code: 0 PASS or N/A (every applicable case passed), 1 FAIL, 3 ERROR, BLOCKED or
  INCOMPLETE (the bench could not judge). 2 (bad input), 4 (reports not built) and 130
  (interrupted) are decided by the commands, not by the record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.measure import Measurement

EXIT_OK = 0  # every applicable case passed
EXIT_FAIL = 1  # the station failed a case (or a run-wide measurement outside every case)
EXIT_USAGE = 2  # bad input or usage: nothing was run
EXIT_UNJUDGED = 3  # the bench could not judge: ERROR, BLOCKED, cut off; no FAIL
EXIT_NO_REPORTS = 4  # the run finished but its reports could not be built
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: resume the run with `bench run --resume`

# worst first: the verdict a case stands as when several repetitions of it were judged
SEVERITY = ("FAIL", "ERROR", "INCOMPLETE", "BLOCKED", "PASS", "N/A")

RUN_LEVEL = "RUN"  # the run-level entry: measurements taken outside every case
RUN_LEVEL_NAME = "Run-wide measurements outside every case"
INCOMPLETE = "INCOMPLETE"
_CASE_STREAMS = ("frames", "events", "measurements", "verdicts")


@dataclass
class CaseVerdict:
    case: str
    name: str
    verdict: str  # PASS, FAIL, ERROR, N/A, BLOCKED, INCOMPLETE
    message: str
    attempts: list[dict[str, Any]] = field(default_factory=list)  # verdict lines, in order
    failed_measurements: list[str] = field(default_factory=list)  # what failed the final attempt

    @property
    def final(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def attempt(self) -> int | None:
        """The number of the final attempt (None: the case never got a verdict)."""
        return _attempt_of(self.final) if self.final else None

    @property
    def decisive(self) -> dict[str, Any] | None:
        """The verdict line the case stands as: the final attempt, or with repetitions the
        worst repetition of the last run of them."""
        lines = final_round(self.attempts)
        if not lines:
            return None
        return min(reversed(lines), key=lambda v: _rank(str(v.get("verdict") or "ERROR")))


@dataclass
class RunVerdict:
    verdict: str
    exit_code: int
    cases: list[CaseVerdict]  # in the order cases first appear; the `RUN` entry last
    partial: bool  # the run was cut off (run.json status not `complete`)
    status: str  # run.json status

    def case(self, case_id: str) -> CaseVerdict | None:
        return next((c for c in self.cases if c.case == case_id), None)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for c in self.cases:
            out[c.verdict] += 1
        return dict(out)


def _rank(verdict: str) -> int:
    return SEVERITY.index(verdict) if verdict in SEVERITY else 0


def worst_verdict(*verdicts: str) -> str:
    """The verdict a case stands as when all of these were judged (repetitions)."""
    return min(verdicts, key=lambda v: _rank(str(v)))


def final_round(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdict lines that decide a case (in record order): its final attempt alone, or,
    when that is a repetition, every repetition of that run of them (back to repetition 1)."""
    if not lines:
        return []
    if not isinstance(lines[-1].get("repetition"), int):
        return [lines[-1]]
    out: list[dict[str, Any]] = []
    for line in reversed(lines):
        rep = line.get("repetition")
        if not isinstance(rep, int) or (out and rep >= out[-1]["repetition"]):
            break  # an earlier run of the repetitions, or a line from before them
        out.append(line)
        if rep <= 1:
            break
    return list(reversed(out))


def _attempt_of(line: dict[str, Any] | None) -> int | None:
    value = (line or {}).get("attempt")
    return int(value) if isinstance(value, int) else None


def _seen_cases(run: Any) -> list[str]:
    first: dict[str, int] = {}
    for kind in _CASE_STREAMS:
        for r in getattr(run, kind):
            c = r.get("case")
            if c and c not in first:
                first[c] = int(r.get("seq") or 0)
    return sorted(first, key=first.__getitem__)


class _AttemptOf:
    """Which attempt of its case a line belongs to: its `attempt` label, else (records
    written before lines were labelled) the attempt whose verdict line follows it."""

    def __init__(self, verdict_lines: dict[str, list[dict[str, Any]]]) -> None:
        self.bounds = {c: [(int(v.get("seq") or 0), _attempt_of(v)) for v in lines]
                       for c, lines in verdict_lines.items()}

    def __call__(self, case: str, line: dict[str, Any]) -> int | None:
        label = _attempt_of(line)
        if label is not None:
            return label
        seq = int(line.get("seq") or 0)
        for verdict_seq, attempt in self.bounds.get(case, []):
            if seq <= verdict_seq:
                return attempt
        return None  # after the last verdict of the case: a run that was cut off


def _subseries_failures(m: dict[str, Any]) -> list[tuple[str | None, int | None, str]]:
    """For a run-wide measurement with limits: (case, attempt, text) of every case's samples
    that miss the limits when judged alone (case None: samples taken outside every case)."""
    whole = Measurement.from_dict(m)
    if whole.limits is None or whole.unset_reason or not whole.series:
        return []
    index, attempts = whole.series_index, whole.series_attempt
    if len(index) != len(whole.series):
        # no per-sample case: the whole series is the run's
        return [] if whole.outcome != "FAIL" else [(None, None, whole.describe())]
    groups: dict[tuple[str | None, int | None], list[float]] = defaultdict(list)
    for i, value in enumerate(whole.series):
        case = index[i] if isinstance(index[i], str) and index[i] else None
        attempt = attempts[i] if i < len(attempts) and isinstance(attempts[i], int) else None
        groups[(case, attempt)].append(value)
    out = []
    for (case, attempt), values in groups.items():
        part = Measurement(whole.name, whole.unit, series=values, limits=whole.limits)
        if part.outcome == "FAIL":
            whose = "of this case" if case else "taken outside every case"
            out.append((case, attempt, part.describe(whose)))
    return out


def run_verdict(run: Any) -> RunVerdict:
    """The verdict of a loaded run (bench.record.reader.RunData), complete or cut off."""
    verdict_lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in sorted(run.verdicts, key=lambda r: int(r.get("seq") or 0)):
        verdict_lines[str(v.get("case"))].append(v)
    attempt_of = _AttemptOf(verdict_lines)
    # the attempts that decide each case: the final one, or its last run of repetitions
    deciding = {c: {_attempt_of(v) for v in final_round(lines)}
                for c, lines in verdict_lines.items()}

    def of_final(case: str, attempt: int | None) -> bool:
        """Does a line of `case` with this attempt belong to an attempt that decides it?"""
        attempts = deciding.get(case)
        return attempt is None or not attempts or None in attempts or attempt in attempts

    # failures by case and attempt (None: a line that names no attempt, from older records)
    failures: dict[str, dict[int | None, list[str]]] = defaultdict(lambda: defaultdict(list))
    run_level: list[str] = []
    for m in run.measurements:
        case = m.get("case")
        if case:
            attempt = attempt_of(case, m)
            if m.get("outcome") == "FAIL" and of_final(case, attempt):
                failures[case][attempt].append(Measurement.from_dict(m).describe())
            continue
        for sample_case, attempt, text in _subseries_failures(m):
            if sample_case is None:
                run_level.append(text)
            elif of_final(sample_case, attempt):
                failures[sample_case][attempt].append(text)

    cases = []
    for case in _seen_cases(run):
        lines = verdict_lines.get(case, [])
        fails_by = failures.get(case, {})
        all_fails = list(dict.fromkeys(t for ts in fails_by.values() for t in ts))
        if not lines:
            cases.append(CaseVerdict(case, "", INCOMPLETE, "no verdict: the run stopped while "
                                     "this case was running", [], all_fails))
            continue
        judged = []
        for line in final_round(lines):
            attempt = _attempt_of(line)
            # a case's own line and the run's copy of a sample say the same: once
            fails = list(dict.fromkeys(fails_by.get(attempt, []) + (
                fails_by.get(None, []) if attempt is not None else [])))
            if attempt is None:
                fails = all_fails
            judged.append((*_judge_line(line, fails), line))
        verdict, message, _ = min(reversed(judged), key=lambda j: _rank(j[0]))
        if len(judged) > 1 or isinstance(lines[-1].get("repetition"), int):
            message = _repetitions_message(judged, verdict, message)
        cases.append(CaseVerdict(case, str(lines[-1].get("name") or ""), verdict, message,
                                 list(lines), all_fails))
    if run_level:
        cases.append(CaseVerdict(RUN_LEVEL, RUN_LEVEL_NAME, "FAIL",
                                 "; ".join(f"measurement {t}" for t in run_level), [],
                                 run_level))
    status = str(run.meta.get("status") or "running")
    partial = status != "complete"
    overall = _overall({c.verdict for c in cases}, partial, status)
    return RunVerdict(overall, exit_code_of(overall), cases, partial, status)


def _judge_line(line: dict[str, Any], fails: list[str]) -> tuple[str, str]:
    """One attempt's verdict: its line's, or FAIL when a measurement of it failed."""
    verdict, message = str(line.get("verdict") or "ERROR"), str(line.get("message") or "")
    if fails and verdict in ("PASS", "ERROR"):
        also = f" (the case also ended in ERROR: {message})" if verdict == "ERROR" else ""
        return "FAIL", "; ".join(f"measurement {t}" for t in fails) + also
    return verdict, message


def _repetitions_message(judged: list[tuple[str, str, dict[str, Any]]], verdict: str,
                         message: str) -> str:
    """"repetition 2 of 3: <its message>" (the worst one), and how the others ended."""
    total = judged[-1][2].get("repetitions") or len(judged)
    worst = next(line for v, m, line in reversed(judged) if v == verdict and m == message)
    others = ", ".join(f"{line.get('repetition')} {v}" for v, _, line in judged
                       if line is not worst)
    head = f"repetition {worst.get('repetition')} of {total}: {message}"
    return head + (f" (repetitions {others})" if others else "")


def _overall(verdicts: set[str], partial: bool, status: str) -> str:
    if "FAIL" in verdicts:
        return "FAIL"
    if "ERROR" in verdicts or status == "error":
        return "ERROR"
    if partial or INCOMPLETE in verdicts:
        return INCOMPLETE
    if "BLOCKED" in verdicts:
        return "BLOCKED"
    if "PASS" in verdicts:
        return "PASS"
    return "N/A" if verdicts else INCOMPLETE


def exit_code_of(overall: str) -> int:
    if overall in ("PASS", "N/A"):
        return EXIT_OK
    if overall == "FAIL":
        return EXIT_FAIL
    return EXIT_UNJUDGED

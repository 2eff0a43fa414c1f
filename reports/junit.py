"""JUnit XML for CI: one testcase per case with its final verdict.

Verdict messages and properties carry station text. ElementTree escapes markup but writes
control characters as they are, and XML 1.0 allows none but tab, LF and CR: one ESC or NUL in
a vendor string would make the whole file unreadable to the CI. Every text goes through
reports.text.shown first (the report's own rule for station text).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.context import ReportContext
from reports.text import shown


def junit_tree(ctx: ReportContext) -> ET.ElementTree:
    cases = ctx.cases
    failures = sum(c.verdict == "FAIL" for c in cases)
    errors = sum(c.verdict in ("ERROR", "INCOMPLETE") for c in cases)
    skipped = sum(c.verdict in ("N/A", "BLOCKED") for c in cases)
    total_time = sum(float((c.final or {}).get("duration_s") or 0) for c in cases)
    run_id = shown(ctx.run_id)
    suites = ET.Element("testsuites", name=run_id)
    suite = ET.SubElement(suites, "testsuite", name=run_id, tests=str(len(cases)),
                          failures=str(failures), errors=str(errors), skipped=str(skipped),
                          time=f"{total_time:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in ctx.header.rows:
        ET.SubElement(props, "property", name=shown(key), value=shown(value))
    ET.SubElement(props, "property", name="overall verdict", value=ctx.header.verdict)
    for c in cases:
        final = c.final or {}
        group = c.profile.replace(" ", "") or "Run"  # the run-level entry has no profile
        tc = ET.SubElement(suite, "testcase", classname=shown(f"ocpp16.{group}"),
                           name=shown(f"{c.case} {c.name}".strip()),
                           time=f"{float(final.get('duration_s') or 0):.3f}")
        message = shown(c.message)
        if c.verdict == "FAIL":
            ET.SubElement(tc, "failure", message=message, type="FAIL").text = _details(c)
        elif c.verdict == "ERROR":
            ET.SubElement(tc, "error", message=message, type="ERROR").text = _details(c)
        elif c.verdict == "INCOMPLETE":
            ET.SubElement(tc, "error", message=message, type="INCOMPLETE")
        elif c.verdict in ("N/A", "BLOCKED"):
            cause = f" (blocked by {shown(str(final['cause']))})" if final.get("cause") else ""
            ET.SubElement(tc, "skipped", message=f"{c.verdict}: {message}{cause}")
        if len(c.attempts) > 1:  # every attempt, and with --repeat every repetition
            ET.SubElement(tc, "system-out").text = shown("\n".join(
                f"attempt {a.get('attempt')}{_repetition(a)}: {a.get('verdict')} "
                f"{a.get('message', '')}" for a in c.attempts))
    ET.indent(suites)
    return ET.ElementTree(suites)


def _repetition(attempt: dict) -> str:
    if not attempt.get("repetition"):
        return ""
    return f" (repetition {attempt['repetition']} of {attempt.get('repetitions')})"


def _details(c) -> str:
    # the line the case stands as: with repetitions the worst one, not simply the last
    final = next((a for a in reversed(c.attempts) if a.get("verdict") == c.verdict),
                 c.final or {})
    lines = [f"verdict {c.verdict}: {c.message}"]
    lines += [f"checked: {ch}" for ch in final.get("checks") or []]
    if final.get("traceback"):
        lines += ["traceback (a bench fault):", str(final["traceback"])]
    return shown("\n".join(lines))


def write_junit(ctx: ReportContext, run_dir: Path) -> Path:
    target = Path(run_dir) / "junit.xml"
    junit_tree(ctx).write(target, encoding="utf-8", xml_declaration=True)
    return target

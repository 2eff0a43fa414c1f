"""Renderers of a run directory: certificate-style HTML, JUnit XML, JSON summary, comparison.

Reads the run record only (bench.record.reader.load_run), never pytest internals.
Conventions read from the record beyond docs/contracts.md:
  - reference-meter energy: events of kind "instrument" whose detail has a numeric `value`
    with `unit` "Wh"/"kWh" (or `energy_wh`), optionally `connector`;
  - a measurement whose name mentions MeterValues and interval replaces the interval plot
    derived from the frames.
"""

from reports.build import build_reports

__all__ = ["build_reports"]

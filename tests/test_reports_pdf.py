"""report.pdf printed by headless Chromium: A4 pages, the run id, the station and "page x of y"
on every page, the certificate's headline and every case id in the text (pdftotext), table
rows and plots not cut by a page break."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.samplerun import HOSTILE, STATION_ID, write_sample_run
from support.scripted import station_snapshots

from bench.commands.report import main as report_main
from bench.measure import Limits, Measurement
from bench.record import RunRecord, Verdict, VerdictRecord
from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from reports import build_reports
from reports.headline import HEADLINE
from reports.pdf import write_report_pdf

pytestmark = pytest.mark.real_part("chromium")
A4_POINTS = (595, 842)


def pdf_pages(pdf: Path) -> list[str]:
    """The text of every page, whitespace folded (a table cell may wrap anywhere)."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    assert (round(float(size.group(1))), round(float(size.group(2)))) == A4_POINTS, info
    texts = []
    for i in range(1, pages + 1):
        out = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        texts.append(" ".join(out.split()))
    return texts


class Figures(HTMLParser):
    """(svg title, caption) of every <figure> in the report."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.found.append((dict(attrs).get("aria-label", ""), ""))
        elif tag == "figcaption":
            self._caption = []

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)

    def handle_endtag(self, tag):
        if tag == "figcaption" and self._caption is not None and self.found:
            self.found[-1] = (self.found[-1][0], " ".join("".join(self._caption).split()))
            self._caption = None


def on_one_page(pages: list[str], *parts: str) -> bool:
    return any(all(p in page for p in parts) for page in pages)


def test_bench_report_pdf_holds_headline_cases_and_page_furniture(
        chromium_binary, pdftotext_binary, tmp_path, capsys):
    run = write_sample_run(tmp_path / "runs", fail=True, hostile=True)
    assert report_main([str(run), "--pdf"]) == 1  # built; the sample run's verdict is FAIL
    assert capsys.readouterr().out.split() == [str(run / "report.html"), str(run / "report.pdf")]
    pages = pdf_pages(run / "report.pdf")
    n = len(pages)
    assert n >= 3
    run_id = run.name
    for i, text in enumerate(pages, start=1):
        assert f"Run {run_id}" in text, f"page {i}: no run id"
        assert f"page {i} of {n}" in text, f"page {i}: no page number"
        # the station as the header names it; its vendor string is station text, kept as text
        assert f"{STATION_ID} – {HOSTILE} SmartDC, firmware v8.8.15" in text, f"page {i}"
    everything = " ".join(pages)
    for spec in HEADLINE:
        assert f"{spec.title}:" in everything
    cases = [c["case"] for c in json.loads((run / "summary.json").read_text())["cases"]]
    assert cases and all(c in everything for c in cases)

    # a row is never cut by a page break: each headline row's first and last cell on one page
    for spec in HEADLINE:
        assert on_one_page(pages, f"{spec.title}:", spec.definition[-30:], "Counted:") or \
            on_one_page(pages, f"{spec.title}:", spec.reading[-30:]), spec.title
    # each case-list row keeps the case id, its name and the message together
    summary = json.loads((run / "summary.json").read_text())
    for c in summary["cases"]:
        tail = " ".join(c["message"].split())[-25:]
        assert on_one_page(pages, c["case"], c["name"], tail), c["case"]
    # plots are kept whole: a figure's title (inside the SVG) and its caption on one page
    figures = Figures()
    figures.feed((run / "report.html").read_text("utf-8"))
    assert len(figures.found) >= 3
    for title, caption in figures.found:
        assert on_one_page(pages, title, caption[:40]), title


def test_bench_report_pdf_without_chromium_says_so_and_keeps_the_html(tmp_path, monkeypatch,
                                                                       capsys):
    run = write_sample_run(tmp_path / "runs")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))  # no chromium on this PATH
    assert report_main([str(run), "--pdf"]) == 4  # asked-for report.pdf not built
    err = capsys.readouterr().err
    assert "chromium not found (apt-get install chromium): no PDF written" in err
    assert (run / "report.html").is_file() and not (run / "report.pdf").exists()


def mark(word: str, case: str, k: int) -> str:
    """A token no line break splits (no hyphen): BEGIN070x07."""
    return f"{word}{case[3:6]}x{k:02d}"


def long_run(runs: Path) -> Path:
    """Tables of multi-line rows and many plots over many pages: page breaks must fall
    between rows and between figures, never through one."""
    rec = RunRecord.create(runs, "long", station_id=STATION_ID)
    for name, data in station_snapshots().items():
        rec.snapshot(name, data)
    for case in ("TC_070_CS", "TC_071_CS"):
        rec.current_case = case
        for k in range(40):
            series = [1.0 + 0.01 * ((k + i) % 7) for i in range(12)]
            words = " ".join(f"word{w}" for w in range(10 + (k * 17) % 70))  # uneven heights
            m = Measurement(f"probe.{case}.{k:02d}", "s", series=series,
                            limits=Limits(high=2.0, stat="max"),
                            description=f"{mark('BEGIN', case, k)} {words} {mark('END', case, k)}")
            rec.measurement(m.as_dict())
        rec.verdict(VerdictRecord(case, Verdict.PASS, "all checks passed"))
    rec.current_case = None
    rec.close("complete")
    return rec.path


def test_page_breaks_fall_between_table_rows_and_between_plots(
        chromium_binary, pdftotext_binary, tmp_path):
    run = long_run(tmp_path / "runs")
    build_reports(run)
    pages = pdf_pages(write_report_pdf(run, chromium_binary))
    assert len(pages) >= 8
    cut_rows = [mark("", c, k) for c in ("TC_070_CS", "TC_071_CS") for k in range(40)
                if not on_one_page(pages, mark("BEGIN", c, k), mark("END", c, k))]
    assert cut_rows == []
    # the figures come after the section's table: the last mention of a probe is its plot,
    # the SVG's legend just before its caption; both must be on one page
    joined = "\f".join(pages)
    cut_plots = []
    for c in ("TC_070_CS", "TC_071_CS"):
        for k in range(40):
            caption_end = joined.rfind(mark("END", c, k))
            legend = joined.rfind(f"probe.{c}.{k:02d}", 0, caption_end)
            if joined.count("\f", legend, caption_end):
                cut_plots.append(mark("", c, k))
    assert cut_plots == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_report_pdf_of_a_real_run(real_run, pdftotext_binary):
    """The report.pdf `bench run` printed for the session's real run: A4, the run id, the
    booted station and "page x of y" on every page; every case, the headline rows."""
    run = load_run(real_run.path)
    assert run.meta["reports"].get("pdf") == "report.pdf"
    pages = pdf_pages(real_run.path / "report.pdf")
    station = run.snapshots["station"]
    header = (f"{run.meta['station_id']} – {station['chargePointVendor']} "
              f"{station['chargePointModel']}, firmware {station['firmwareVersion']}")
    for i, text in enumerate(pages, start=1):
        assert f"Run {run.meta['id']}" in text, f"page {i}: no run id"
        assert f"page {i} of {len(pages)}" in text, f"page {i}: no page number"
        assert header in text, f"page {i}: no station"
    everything = " ".join(pages)
    summary = json.loads((real_run.path / "summary.json").read_text("utf-8"))
    assert [c["case"] for c in summary["cases"]] == [c.case for c in run_verdict(run).cases]
    for c in summary["cases"]:
        assert on_one_page(pages, c["case"], c["name"], c["verdict"]), c["case"]
    for spec in HEADLINE:
        assert f"{spec.title}:" in everything
    # printed at full size: Chromium shrinks a page too wide for A4 (to 75 % or less), which
    # shows as smaller words; the report's 11 px print text makes boxes of about 10.5 pt
    assert median_word_height_pt(real_run.path / "report.pdf", page=1) > 9.0


def median_word_height_pt(pdf: Path, page: int) -> float:
    """The median height of the word boxes pdftotext finds on one page, in points."""
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    heights = [float(y1) - float(y0) for y0, y1 in re.findall(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', out)]
    assert heights, f"no words on page {page} of {pdf}"
    return statistics.median(heights)

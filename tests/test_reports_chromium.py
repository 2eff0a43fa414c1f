"""The report opens in a real browser (headless Chromium) without console errors, and fits:
nothing scrolls sideways on a 1400 px laptop screen nor at the A4 page width (print styles)."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from support.samplerun import write_sample_run

from reports import build_reports

pytestmark = pytest.mark.real_part("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1280,2000"]
DEADLINE_S = 60


def chromium(binary: str, tmp: Path, url: str, *extra: str) -> tuple[str, str]:
    """Run Chromium once; its whole process group is killed whatever happens."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"chromium did not finish rendering {url} within {DEADLINE_S} s; "
                    f"last stderr: {err[-2000:]}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # renderer/zygote children must not outlive us
        except ProcessLookupError:
            pass
    return out, err


def console_errors(stderr: str) -> list[str]:
    """Console messages, uncaught errors and failed loads Chromium logged for the page."""
    marks = (":CONSOLE", "Uncaught", "net::ERR_")
    return [line for line in stderr.splitlines() if any(m in line for m in marks)]


def test_console_check_catches_a_broken_page(chromium_binary, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><h1>x</h1><script>missingFunction();</script></body></html>")
    _, err = chromium(chromium_binary, tmp_path, bad.as_uri(), "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in console_errors(err))


def test_report_renders_in_chromium_without_console_errors(chromium_binary, tmp_path):
    run = write_sample_run(tmp_path / "runs", fail=True, hostile=True)
    report = build_reports(run)
    dom, err = chromium(chromium_binary, tmp_path, report.as_uri(), "--dump-dom")
    assert console_errors(err) == []
    for heading in ('id="test-report">Test Report</h2>', 'id="summary">Test Result Summary</h2>',
                    'id="performance">Performance Measurement Results</h2>',
                    'id="station-config">OCPP Charging Station Configuration</h2>',
                    'id="plots">Plots</h2>', 'id="case-TC_012_CS"'):
        assert heading in dom
    assert dom.count("<svg") >= 3
    assert "<script" not in dom  # the hostile vendor string stayed text in the live DOM
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom

    shot = tmp_path / "report.png"
    _, err = chromium(chromium_binary, tmp_path, report.as_uri(), f"--screenshot={shot}")
    assert console_errors(err) == []
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


# A4 minus the report's @page margins (11 mm each side): 188 mm at 96 px per inch
A4_CONTENT_PX = round(188 / 25.4 * 96)
LAPTOP_PX = 1400
# Run inside a copy of the page (the report itself has no script): with #print the page's
# @media print rules apply on screen, then every element reaching past the viewport is listed.
WIDTH_PROBE = """<script>
(function () {
  if (location.hash === "#print") {
    for (const sheet of document.styleSheets) {
      for (const rule of sheet.cssRules) {
        if (rule.media && rule.media.mediaText === "print") { rule.media.mediaText = "all"; }
      }
    }
  }
  const doc = document.documentElement, width = doc.clientWidth, wide = [];
  for (const e of document.querySelectorAll("body *")) {
    const right = e.getBoundingClientRect().right;
    if (right > width + 0.5 && wide.length < 12) {
      wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " reaches " +
                Math.round(right) + " px: " + (e.textContent || "").slice(0, 60));
    }
  }
  const out = document.createElement("pre");
  out.id = "width-probe";
  out.textContent = JSON.stringify({scrollWidth: doc.scrollWidth, clientWidth: width,
                                    wide: wide});
  document.body.appendChild(out);
})();
</script>"""


def page_width(binary: str, tmp: Path, page: Path, width: int, print_styles: bool = False
               ) -> dict:
    """{scrollWidth, clientWidth, wide: [elements past the right edge]} of `page` in a
    window `width` px wide; console errors fail the test."""
    probe = tmp / f"probe-{width}-{page.parent.name}.html"
    probe.write_text(page.read_text("utf-8").replace("</body>", WIDTH_PROBE + "</body>"),
                     "utf-8")
    url = probe.as_uri() + ("#print" if print_styles else "")
    dom, err = chromium(binary, tmp, url, "--dump-dom", f"--window-size={width},1000")
    assert console_errors(err) == [], console_errors(err)
    found = re.search(r'<pre id="width-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the width probe did not run in {url}"
    return json.loads(html.unescape(found.group(1)))


def fits(measured: dict) -> bool:
    return measured["scrollWidth"] <= measured["clientWidth"] and not measured["wide"]


def test_width_probe_catches_a_page_that_scrolls_sideways(chromium_binary, tmp_path):
    page = tmp_path / "wide" / "wide.html"
    page.parent.mkdir()
    page.write_text("<html><body><table><tr><td>" + "x" * 400 + "</td></tr></table>"
                    "</body></html>")
    measured = page_width(chromium_binary, tmp_path, page, LAPTOP_PX)
    assert not fits(measured) and measured["wide"][0].startswith("table reaches")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_report_renders_and_fits_a_laptop_and_a4(chromium_binary, real_run, tmp_path):
    """The report of the session's real run, and the failed, hostile scripted one (long raw
    frames, station markup): no console error, nothing wider than a 1400 px window or the A4
    content width; long frames wrap inside their own box."""
    report = real_run.path / "report.html"
    dom, err = chromium(chromium_binary, tmp_path, report.as_uri(), "--dump-dom")
    assert console_errors(err) == []
    for case in ("TC_001_CS", "TC_070_CS", "TC_017_1_CS"):
        assert f'id="case-{case}"' in dom
    hostile = build_reports(write_sample_run(tmp_path / "runs", fail=True, hostile=True))
    for page in (report, hostile):
        for width, print_styles in ((LAPTOP_PX, False), (A4_CONTENT_PX, True)):
            measured = page_width(chromium_binary, tmp_path, page, width, print_styles)
            assert fits(measured), (page, width, measured)

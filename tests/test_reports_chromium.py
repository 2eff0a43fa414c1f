"""The report opens in a real browser (headless Chromium) without console errors."""

from __future__ import annotations

import os
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

"""report.pdf for the audit file: report.html printed by headless Chromium on A4.

The layout is the report's own print CSS: the @page rule of the template puts the run id, the
station and "page x of y" into the page margins, style.css keeps table rows, plots and
headings with what follows them whole. Chromium is Debian's; it runs with a throw-away profile
and no network, and its whole process group is ended whatever happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# headless, no sandbox (root in CI), nothing that reaches out to the network or a keyring
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic", "--no-pdf-header-footer")
PRINT_TIMEOUT_S = 180.0  # the core campaign's report (about 200 A4 pages) prints in ~15 s


class PdfError(RuntimeError):
    """Chromium missing, failed or too slow; the message says which and what it printed."""


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def print_pdf(html: Path, target: Path, chromium: str | None = None,
              timeout_s: float = PRINT_TIMEOUT_S) -> Path:
    """Print `html` to `target` (written whole or not at all) and return `target`."""
    html, target = Path(html).resolve(), Path(target)
    binary = chromium or find_chromium()
    if binary is None:
        raise PdfError("chromium not found (apt-get install chromium): no PDF written")
    if not html.is_file():
        raise PdfError(f"nothing to print: {html} does not exist")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as profile:
        cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--print-to-pdf={partial}", html.as_uri()]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            _, err = proc.communicate()
            raise PdfError(f"chromium ({binary}) did not print {html} within {timeout_s:g} s; "
                           f"last output: {_tail(err)}") from None
        finally:
            _kill_group(proc.pid)  # renderer and zygote children must not outlive the print
    if proc.returncode != 0 or not partial.is_file() or partial.read_bytes()[:5] != b"%PDF-":
        partial.unlink(missing_ok=True)
        raise PdfError(f"chromium ({binary}) exited {proc.returncode} without printing "
                       f"{html} to PDF; last output: {_tail(err)}")
    partial.replace(target)
    return target


def write_report_pdf(run_dir: Path | str, chromium: str | None = None) -> Path:
    """RUN_DIR/report.pdf from RUN_DIR/report.html (build the reports first)."""
    run_dir = Path(run_dir)
    return print_pdf(run_dir / "report.html", run_dir / "report.pdf", chromium)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(text: str, lines: int = 4) -> str:
    kept = [ln for ln in (text or "").splitlines() if ln.strip()][-lines:]
    return " | ".join(kept) or "(nothing)"

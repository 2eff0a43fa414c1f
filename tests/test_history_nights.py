"""`bench history` over generated nights of the core plan: the index follows the run
directories, the timeline names flaky and failing cases, a step is found at its night, the
firmware and configuration changes are marked, a stable history raises nothing, the page
renders in Chromium."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from support.nightgen import Injected, write_nights
from test_reports_chromium import chromium, console_errors
from test_reports_html import Doc

from bench.commands.history import main as history_main

NIGHTS = 40
INJECTED = Injected(
    step={"ocpp.response_time.GetConfiguration": (25, 0.5)},  # +50 % from night 26 on
    failing={"TC_012_CS": {10, 17, 18}, "TC_019_CS": {36, 37, 38, 39}},
    firmware={20: "v8.8.16"}, config={30: {"HeartbeatInterval": "60"}})
# half a day off every day boundary of a span such as --since 10d, whatever the time of day
# the suite runs at: the last night 12 h ago, so a 10-day window holds exactly 10 nights
FIRST_NIGHT = (dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
               - dt.timedelta(days=NIGHTS - 1, hours=12))


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("nights") / "runs"
    write_nights(runs, NIGHTS, inject=INJECTED, first=FIRST_NIGHT)
    return runs


def history(capsys, *args: str) -> tuple[int, str]:
    rc = history_main([*args])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_history_names_the_step_the_flaky_case_and_the_failing_one(nights, tmp_path, capsys):
    rc, out = history(capsys, str(nights), "--since", "all", "-o", str(tmp_path / "h.html"),
                      "--db", str(tmp_path / "index.sqlite"))
    assert rc == 1, out
    regressions = [ln for ln in out.splitlines() if "REGRESSION" in ln]
    assert len(regressions) == 3, out  # nothing else of the 55 measurements and 52 cases
    step = next(ln for ln in regressions if "ocpp.response_time.GetConfiguration" in ln)
    assert "change point: median changed at night 26 " in step and "(+50 %)" in step
    assert "case TC_012_CS Remote Stop Charging Session is flaky" in out
    assert "flipped 4 times over 40 nights" in out
    failing = next(ln for ln in regressions if "TC_019_CS" in ln)
    assert "fails since night 37 " in failing and "FAIL (expected StatusNotification" in failing

    html = (tmp_path / "h.html").read_text("utf-8")
    assert {"rig-lab-room1", "changes-lab-room1", "regressions"} <= Doc(html).ids
    assert 'data-night="21">night 21 (' in html and "firmware v8.8.15 → v8.8.16" in html
    assert 'data-night="31">night 31 (' in html and "HeartbeatInterval 30 → 60" in html
    assert '<b class="flaky" data-case="TC_012_CS">TC_012_CS</b>' in html
    # every trend plot marks both change nights
    plots = html.split('<div class="trend')[1:]
    assert len(plots) == 55
    assert all(p.count(">firmware v8.8.15 → v8.8.16</text>") == 1 for p in plots)
    assert all(p.count(">configuration</text>") == 1 for p in plots)
    assert plots[0].startswith(' regression" data-measurement="ocpp.response_time.'
                               'GetConfiguration"')  # regressions come first


def test_a_stable_history_has_no_regression(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_nights(runs, 20, seed=11)
    rc, out = history(capsys, str(runs), "--since", "all")
    assert rc == 0, out
    assert "no regression" in out and "REGRESSION" not in out
    assert (runs / "history.html").is_file() and (runs / "history.sqlite").is_file()


def test_the_index_follows_the_run_directories(nights, tmp_path, capsys):
    runs = tmp_path / "runs"
    shutil.copytree(nights, runs)
    db = str(tmp_path / "index.sqlite")
    rc, out = history(capsys, str(runs), "--since", "all", "--db", db)
    assert f"{NIGHTS} run directories: {NIGHTS} read, 0 unchanged, 0 forgotten" in out
    rc, out = history(capsys, str(runs), "--since", "all", "--db", db)
    assert f"{NIGHTS} run directories: 0 read, {NIGHTS} unchanged, 0 forgotten" in out

    dirs = sorted(p for p in runs.iterdir() if (p / "run.json").exists())
    # the last night is fixed by a re-run of TC_019_CS (resume appends a verdict line)
    with open(dirs[-1] / "verdicts.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"seq": 10**6, "case": "TC_019_CS", "verdict": "PASS",
                            "attempt": 2, "message": "all checks passed"}) + "\n")
    shutil.rmtree(dirs[0])
    (runs / "not-a-run").mkdir()
    broken = runs / "2026-01-01T00-00-00Z-core"
    broken.mkdir()
    (broken / "run.json").write_text("{torn", "utf-8")
    rc, out = history(capsys, str(runs), "--since", "all", "--db", db)
    assert f"{NIGHTS} run directories: 1 read, {NIGHTS - 2} unchanged, 1 forgotten, " \
           "1 unreadable" in out
    assert f"unreadable  {broken}: {broken}/run.json: not readable JSON" in out
    assert f"rig lab-room1: {NIGHTS - 1} nights" in out
    # it passed again on its last night: no longer failing, but it failed and recovered
    assert "case TC_019_CS Retrieve configuration fails since" not in out
    assert "case TC_019_CS Retrieve configuration is flaky: PASS and FAIL/ERROR flipped 2" in out
    rc, out = history(capsys, str(runs), "--since", "all", "--db", db, "--rebuild")
    assert rc == 1 and f"{NIGHTS - 1} read, 0 unchanged" in out


def test_window_and_rig_filters(nights, tmp_path, capsys):
    other = tmp_path / "room2"
    write_nights(other, 5, rig="lab-room2", host="rig-host-2", seed=3)
    db = str(tmp_path / "shared.sqlite")
    rc, out = history(capsys, str(nights), str(other), "--since", "all", "--db", db,
                      "-o", str(tmp_path / "both.html"))
    assert f"rig lab-room1: {NIGHTS} nights on rig-host-1" in out
    assert "rig lab-room2: 5 nights on rig-host-2" in out
    rc, out = history(capsys, "--db", db, "--rig", "lab-room2", "-o", str(tmp_path / "2.html"),
                      "--since", "all")
    assert rc == 0 and "lab-room1" not in out and "rig lab-room2: 5 nights" in out
    assert "bench history:" not in out  # --db alone reads the index, scans nothing
    rc, out = history(capsys, "--db", db, "--since", "10d", "--rig", "lab-room1",
                      "-o", str(tmp_path / "10d.html"))
    assert "rig lab-room1: 10 nights" in out  # nights 30 to 39 (FIRST_NIGHT)


def test_bad_arguments_and_an_unreachable_database_say_what_is_wrong(tmp_path, capsys):
    rc, out = history(capsys, str(tmp_path / "nope"))
    assert rc == 2 and f"not a folder of run directories: {tmp_path / 'nope'}" in out
    rc, out = history(capsys, str(tmp_path), "--since", "last tuesday")
    assert rc == 2 and "--since 'last tuesday': give a span (30d, 12h, 4w)" in out
    rc, out = history(capsys, str(tmp_path), "--db", "postgresql://bench:s3cret@127.0.0.1:1/x")
    assert rc == 2
    assert "history index postgresql://bench:***@127.0.0.1:1/x: cannot connect" in out
    assert "s3cret" not in out


@pytest.mark.real_part("chromium")
def test_history_page_renders_in_chromium(nights, tmp_path, chromium_binary, capsys):
    page = tmp_path / "history.html"
    history(capsys, str(nights), "--since", "all", "-o", str(page),
            "--db", str(tmp_path / "i.sqlite"))
    dom, err = chromium(chromium_binary, tmp_path, page.as_uri(), "--dump-dom")
    assert console_errors(err) == []
    assert 'id="regressions">Regressions (3)</h2>' in dom
    assert dom.count("<svg") == 56 and "<script" not in dom
    shot = tmp_path / "history.png"
    _, err = chromium(chromium_binary, tmp_path, page.as_uri(), f"--screenshot={shot}")
    assert console_errors(err) == [] and shot.stat().st_size > 20_000

"""`bench history` over six real nights of the simulated rig (`bench run` end to end), with a
drift injected into the station: from night to night it answers RemoteStartTransaction 0.3 s
later (fault late_remote_start, StationConfig.late_remote_start_s), and its firmware changes
on night 4. The drift is found, the stable series beside it are not flagged, the firmware change
is marked. Then the same history from a private PostgreSQL server shared with a second rig."""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path

import psycopg
import pytest
from conftest import require_real_part
from pg_support import private_postgres
from support.nightgen import Injected, write_nights
from test_plans_support import SIM_RIG, bench_run, fast_plan

from bench.commands.history import main as history_main

pytestmark = pytest.mark.slow
NIGHTS = 6
DELAY_S = [0.3 + 0.3 * k for k in range(NIGHTS)]  # the injected drift
FIRMWARE = ["v8.8.15"] * 3 + ["v8.8.16"] * 3
DRIFTING = {"remote_start.response_time", "ocpp.response_time.RemoteStartTransaction",
            "triggered.remote_start", "triggered.remote_start_power_on"}
STABLE = {"ocpp.response_time.GetConfiguration", "ocpp.response_time.RemoteStopTransaction",
          "status_latency.plug_in"}


def night_rig(folder: Path, k: int) -> Path:
    """rigs/sim.toml with the station of night k; every night's file has the same name, so
    the history sees one rig (hil-sim)."""
    folder.mkdir(parents=True)
    station = folder / "station.toml"
    station.write_text(f'[station]\nlate_remote_start_s = {DELAY_S[k]}\n'
                       f'firmware = "{FIRMWARE[k]}"\n', "utf-8")
    text = SIM_RIG.read_text("utf-8")
    text, n = re.subn(r"(?m)^faults = \[\].*$",
                      f'faults = ["late_remote_start"]\nstation_config = "{station}"', text)
    assert n == 1
    rig = folder / "hil-sim.toml"
    rig.write_text(text, "utf-8")
    return rig


@pytest.fixture(scope="module")
def real_nights(tmp_path_factory) -> Path:
    # module scope cannot use the function-scoped pcscd/vpcd fixtures: the same check here
    vpcd = glob.glob("/usr/lib/*/pcsc/drivers/serial/libifdvpcd.so") + glob.glob(
        "/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
    require_real_part("pcscd and vpcd", bool(shutil.which("pcscd") or
                                            os.path.exists("/usr/sbin/pcscd")) and bool(vpcd),
                      "apt-get install pcscd vsmartcard-vpcd")
    base = tmp_path_factory.mktemp("real-nights")
    plan = fast_plan(base)
    for k in range(NIGHTS):
        # the last night also writes its reports: report.pdf where Chromium is present
        quiet = ("--no-reports",) if k < NIGHTS - 1 else ()
        res = bench_run(base, "--plan", str(plan), "--cases", "TC_010_CS",
                        "--rig", str(night_rig(base / f"night-{k}", k)), *quiet)
        assert res.rc == 0, res.stdout + res.stderr
        assert res.verdicts()["TC_010_CS"]["verdict"] == "PASS"
    return base / "runs"


def regressions(out: str) -> dict[str, str]:
    """measurement name -> its regression line."""
    found = {}
    for line in out.splitlines():
        m = re.search(r"REGRESSION  rig \S+: measurement (\S+) \(", line)
        if m:
            found[m.group(1)] = line
    return found


def test_the_injected_drift_is_found_and_the_stable_series_are_not(real_nights, tmp_path,
                                                                   capsys, chromium_binary):
    page = tmp_path / "history.html"
    rc = history_main([str(real_nights), "--since", "all", "-o", str(page)])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert f"rig hil-sim: {NIGHTS} nights" in out
    assert "1 night(s) with a firmware or configuration change" in out
    found = regressions(out)
    assert set(found) == DRIFTING, out
    drift = found["remote_start.response_time"]
    # 0.3 s per night over 6 nights (1.5 s); all 6 nights rising: exact p = 1/720
    assert re.search(r"median drifts up: 0\.(29\d*|3|30\d*|31\d*) s per night", drift), drift
    assert "Mann-Kendall S = 15, p = 0.0014" in drift
    html = page.read_text("utf-8")
    assert "night 4 (" in html and "firmware v8.8.15 → v8.8.16" in html
    for name in STABLE:
        block = html.split(f'data-measurement="{name}"', 1)[1].split('<div class="trend', 1)[0]
        assert "regression" not in block, name
    last = sorted(p for p in real_nights.iterdir() if p.is_dir())[-1]
    assert (last / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_same_history_from_a_shared_postgresql_index(real_nights, tmp_path, capsys,
                                                         postgres_bindir):
    sqlite_rc = history_main([str(real_nights), "--since", "all", "-o", str(tmp_path / "a.html"),
                              "--db", str(tmp_path / "a.sqlite")])
    sqlite_out = capsys.readouterr().out
    room2 = tmp_path / "room2"
    write_nights(room2, 8, rig="lab-room2", host="rig-host-2",
                 inject=Injected(failing={"TC_003_CS": {7}}))
    with private_postgres(postgres_bindir) as url:
        # rig 1's nightly job and rig 2's report into the same server
        rc = history_main([str(real_nights), "--since", "all", "--db", url,
                           "-o", str(tmp_path / "pg1.html")])
        out = capsys.readouterr().out
        assert (rc, regressions(out)) == (sqlite_rc, regressions(sqlite_out))
        history_main([str(room2), "--since", "all", "--db", url, "-o", str(tmp_path / "pg2.html")])
        capsys.readouterr()
        # one history of both rigs, read from the index alone
        rc = history_main(["--db", url, "--since", "all", "-o", str(tmp_path / "both.html")])
        out = capsys.readouterr().out
        assert rc == 1
        assert f"rig hil-sim: {NIGHTS} nights" in out and "rig lab-room2: 8 nights on rig-host-2" \
            in out
        assert "rig lab-room2: case TC_003_CS Regular Charging Session – Plugin First fails " \
               "since night 8" in out
        rc = history_main(["--db", url, "--since", "all", "--rig", "lab-room2",
                           "-o", str(tmp_path / "room2.html")])
        assert "hil-sim" not in capsys.readouterr().out
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT rig, host, count(*) FROM hist_runs GROUP BY rig, host "
                                "ORDER BY rig").fetchall()
        assert rows[1] == ("lab-room2", "rig-host-2", 8)
        assert rows[0][0] == "hil-sim" and rows[0][2] == NIGHTS

"""`bench compare`: the nightly regression view on recorded runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.samplerun import write_sample_run

from bench.commands import compare as compare_cmd
from bench.record.reader import load_run
from reports.compare import compare_runs


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("nights")
    return {
        "good": write_sample_run(base / "1"),
        "good_again": write_sample_run(base / "2"),
        "bad": write_sample_run(base / "3", fail=True, firmware="v8.8.16"),
        "slow": write_sample_run(base / "4", remote_start_s=4.0),
        "fast": write_sample_run(base / "5", remote_start_s=0.6),
    }


def test_regression_exits_1_and_names_the_case(nights, tmp_path, capsys):
    out_html = tmp_path / "cmp.html"
    rc = compare_cmd.main([str(nights["good"]), str(nights["bad"]), "-o", str(out_html)])
    out = capsys.readouterr().out
    assert rc == 1
    regressions = [line for line in out.splitlines() if "REGRESSION" in line]
    assert any("TC_012_CS" in line and "PASS → FAIL" in line for line in regressions)
    assert any("TC_070_CS" in line for line in regressions)
    assert any("'MeterValues sample interval'" in line and "PASS → FAIL" in line
               for line in regressions)
    assert "changed     case TC_068_CS: N/A → BLOCKED" in out
    assert "firmwareVersion: v8.8.15 → v8.8.16" in out
    assert "config      HeartbeatInterval: 30 → 60" in out
    html = out_html.read_text("utf-8")
    assert 'data-case="TC_012_CS"' in html and 'data-key="HeartbeatInterval"' in html
    assert "Regressions (3)" in html


def test_no_regression_exits_0_and_writes_compare_html_into_run_b(nights, capsys):
    rc = compare_cmd.main([str(nights["good"]), str(nights["good_again"])])
    out = capsys.readouterr().out
    assert rc == 0
    assert "no regression" in out and "REGRESSION" not in out
    assert (nights["good_again"] / "compare.html").exists()


def test_a_fix_is_not_a_regression(nights, capsys):
    assert compare_cmd.main([str(nights["bad"]), str(nights["good"])]) == 0
    assert "changed     case TC_012_CS: FAIL → PASS" in capsys.readouterr().out


def test_measurement_moving_the_bad_way_beyond_the_threshold_is_a_regression(nights, capsys):
    # 1.2 s -> 4.0 s is still within the 10 s PICS value, but it moved +233 %
    rc = compare_cmd.main([str(nights["good"]), str(nights["slow"])])
    out = capsys.readouterr().out
    assert rc == 1
    assert "measurement 'Response time RemoteStartTransaction' (TC_010_CS): median 1.2 → 4 s" in out
    # the good direction is reported as a move, not a regression
    assert compare_cmd.main([str(nights["good"]), str(nights["fast"])]) == 0
    assert "moved       measurement 'Response time RemoteStartTransaction'" in (
        capsys.readouterr().out)


def test_threshold_option(nights, capsys):
    assert compare_cmd.main([str(nights["good"]), str(nights["slow"]), "--threshold", "300"]) == 0
    assert compare_cmd.main([str(nights["good"]), str(nights["slow"]), "--threshold",
                             "300%", "--abs-floor", "0"]) == 0
    capsys.readouterr()
    cmp = compare_runs(load_run(nights["good"]), load_run(nights["slow"]), threshold=2.0)
    assert [m.name for m in cmp.measures if m.regression] == [
        "Response time RemoteStartTransaction"]


def test_bad_input_exits_2_with_a_clear_message(nights, tmp_path, capsys):
    assert compare_cmd.main([str(nights["good"]), str(tmp_path / "missing")]) == 2
    assert "RUN_B is not a run directory" in capsys.readouterr().err
    assert compare_cmd.main([str(tmp_path / "gone"), str(nights["good"])]) == 2
    assert "RUN_A is not a run directory" in capsys.readouterr().err

"""A rig without some instrument reads clean: what it lacks is said once, the steps that need
it are skipped, the cases that need it are N/A, and nothing else carries it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_plans_support import bench_run, fast_plan

from bench.record.reader import load_run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_a_rig_with_no_instruments_reads_clean(tmp_path: Path, pcscd_binary: str,
                                               vpcd_driver: str) -> None:
    text = (ROOT / "rigs" / "sim.toml").read_text("utf-8")
    text = re.sub(r"\[instruments\.ev1\].*?(?=# The card catalogue)", "", text, flags=re.S)
    rig = tmp_path / "bare.toml"
    rig.write_text(text, "utf-8")
    res = bench_run(tmp_path, "--plan", str(fast_plan(tmp_path)), "--rig", str(rig),
                    "--cases", "TC_001_CS,TC_013_CS,TC_019_CS")
    assert res.rc == 0, res.stdout + res.stderr
    verdicts = res.verdicts()
    assert {c: v["verdict"] for c, v in verdicts.items()} == {
        "TC_001_CS": "N/A", "TC_013_CS": "PASS", "TC_019_CS": "PASS"}
    assert "requires an instrument of role 'mains'" in verdicts["TC_001_CS"]["message"]
    run = load_run(res.run_dir)
    lacks = [e for e in run.events if e["name"] == "rig-lacks"]
    assert len(lacks) == 1  # said once, at activation
    # the card reader is for enrolment only: no campaign misses it
    assert set(lacks[0]["detail"]["roles"]) == {"ev", "card", "meter", "mains", "network"}
    assert lacks[0]["detail"]["roles"]["ev"] == f"the rig has no EV emulator ({rig} " \
                                                "[instruments])"
    maintenance = [e for e in run.events if e["name"].startswith("maintenance: ")]
    assert maintenance and all(e["detail"].get("ok") for e in maintenance), maintenance
    assert not any(e["name"] == "maintenance: EV unplugged" for e in maintenance)
    for name in ("events.jsonl", "verdicts.jsonl", "report.html"):
        assert "did not complete" not in (res.run_dir / name).read_text("utf-8"), name

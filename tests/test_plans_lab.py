"""A day in the lab: a rig without [simulator] (`bench sim` started apart, as a station and
instruments the bench does not start), `bench run` twice in a row against the same, still
powered station, and a run with an instrument down.

The station only reconnects after a run (it sends Heartbeats, no BootNotification): each run
must bring it to a fresh boot first, by the mains instrument when the rig has one, else by
Reset(Hard); when neither works it BLOCKs at once saying what to do. An instrument that does
not answer ends the run in the pre-flight with an ERROR naming it and its address (exit 3),
with the library's own log lines in the record, not on the console.
"""

from __future__ import annotations

import dataclasses

import pytest
from test_plans_support import bench_run

from bench.config.rig import load_rig
from bench.plugin.stationurl import station_urls
from bench.record.reader import load_run
from bench.record.verdict import EXIT_OK, EXIT_UNJUDGED
from sim.labrig import CSMS_SIDE, LOOPBACK, SIM_RIG, LabStation, free_port, lab_plan
from sim.netns_rigs import write_lab_rig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
CASE = "TC_003_CS"


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def pre_steps(run) -> list[str]:
    return [e["name"] for e in run.events if e["kind"] == "step" and e["case"] is None]


def test_each_run_brings_the_powered_station_to_a_fresh_boot(tmp_path, real_parts) -> None:
    plan = lab_plan(tmp_path)
    with LabStation(tmp_path) as lab:
        with_mains, without_mains = lab.rig(), lab.rig("no-mains.toml", mains=False)
        first = bench_run(tmp_path, "--rig", str(with_mains), "--plan", str(plan),
                          "--cases", CASE, "--no-reports")
        second = bench_run(tmp_path, "--rig", str(with_mains), "--plan", str(plan),
                           "--cases", CASE, "--no-reports")
        # the station stays powered and connected; this rig cannot switch it off
        third = bench_run(tmp_path, "--rig", str(without_mains), "--plan", str(plan),
                          "--cases", CASE, "--no-reports")
    for res in (first, second, third):
        assert res.rc == EXIT_OK, res.stdout + res.stderr
        assert res.verdicts()[CASE]["verdict"] == "PASS", res.stdout
    assert first.run_dir != second.run_dir

    for res in (first, second):  # the mains instrument power-cycles it, as a pre-step
        run = load_run(res.run_dir)
        fresh = run.meta["fresh_boot"]
        assert fresh["ok"] and fresh["method"] == "power-cycle", fresh
        assert pre_steps(run) == ["pre-step: power-cycle the station (mains, off 1 s)"]
        verbs = [e["name"] for e in run.events if e["kind"] == "verb"]
        assert verbs[:2] == ["power_off", "power_on"], verbs
        boot = next(f for f in run.frames if f["seq"] == fresh["boot_seq"])
        assert boot["action"] == "BootNotification" and boot["case"] is None
        first_case_frame = min(f["seq"] for f in run.frames if f["case"] == CASE)
        assert boot["seq"] < first_case_frame
    # the second run is told how long the first took, and where the station must connect
    assert "(case 1 of 1; about " in second.stdout, second.stdout
    assert (f"the station connects to ws://127.0.0.1:{lab.csms_port}/ocpp/SMARTDC-SIM-01"
            in second.stdout), second.stdout

    run = load_run(third.run_dir)  # no mains: Reset(Hard) over OCPP
    fresh = run.meta["fresh_boot"]
    assert fresh["ok"] and fresh["method"] == "reset-hard", fresh
    assert pre_steps(run) == ["pre-step: Reset(Hard) over OCPP (the rig has no mains instrument)"]
    reset = [f for f in run.frames if f["action"] == "Reset"]
    assert reset and '"Hard"' in reset[0]["raw"] and reset[0]["case"] is None
    assert reset[0]["seq"] < fresh["boot_seq"]


def test_without_mains_a_station_refusing_the_reset_blocks_at_once(tmp_path, real_parts) -> None:
    """The first run meets the station's own first boot; the second finds it up, and the
    station answers Reset Rejected (OCPP 1.6 §5.14 lets it)."""
    plan = lab_plan(tmp_path)
    with LabStation(tmp_path, station={"rejects_reset": True}) as lab:
        rig = lab.rig(mains=False)
        first = bench_run(tmp_path, "--rig", str(rig), "--plan", str(plan), "--cases", CASE,
                          "--no-reports")
        res = bench_run(tmp_path, "--rig", str(rig), "--plan", str(plan),
                        "--cases", f"{CASE},TC_010_CS", "--no-reports")
    assert first.rc == EXIT_OK, first.stdout + first.stderr
    run = load_run(first.run_dir)
    assert run.meta["fresh_boot"]["method"] == "own-boot", run.meta["fresh_boot"]
    assert pre_steps(run) == ["pre-step: the station booted by itself on connecting: no reset "
                              "needed"]
    assert not [f for f in run.frames if f["action"] == "Reset"]

    assert res.rc == EXIT_UNJUDGED, res.stdout + res.stderr
    verdicts = res.verdicts()
    assert {c: v["verdict"] for c, v in verdicts.items()} == {CASE: "BLOCKED",
                                                              "TC_010_CS": "BLOCKED"}
    message = verdicts[CASE]["message"]
    assert "answered Reset(Hard) with Rejected" in message, message
    assert "power-cycle the station or declare [instruments.mains]" in message, message
    run = load_run(res.run_dir)
    fresh = run.meta["fresh_boot"]
    assert not fresh["ok"] and fresh["method"] == "reset-hard"
    # at once: the bench did not wait for a boot after the refusal
    assert fresh["boot_seq"] is None
    after_reset = [f["action"] for f in run.frames
                   if f["seq"] > next(f["seq"] for f in run.frames if f["action"] == "Reset")]
    assert "BootNotification" not in after_reset
    assert "power-cycle the station or declare [instruments.mains]" in res.stdout


def test_an_instrument_down_ends_the_run_in_the_preflight(tmp_path) -> None:
    """No station and nothing listening where the instruments should be."""
    dead = free_port()
    rig = write_lab_rig(SIM_RIG, LOOPBACK, free_port(), tmp_path, {
        "modbus": {"port": dead}, "vpcd": {"port": dead},
        "scpi": {"port": dead}}, CSMS_SIDE)
    res = bench_run(tmp_path, "--rig", str(rig), "--plan", str(lab_plan(tmp_path)),
                    "--cases", CASE, "--no-reports")
    assert res.rc == EXIT_UNJUDGED, res.stdout + res.stderr
    said = res.stdout + res.stderr
    assert ("ERROR pre-flight: 4 of 6 instrument(s) did not answer (ev1, ev2, meter, mains); "
            "no case was run") in res.stdout, said
    for name, device in (("ev1", "device 1"), ("ev2", "device 2"), ("mains", "device 10")):
        assert f"{name} at 127.0.0.1:{dead} {device}" in res.stdout, said
    assert f"meter at TCPIP::127.0.0.1::{dead}::SOCKET" in res.stdout, said
    # the library's own lines went to the record, not to the console
    for noise in ("Failed to connect", "Repeating", "pymodbus"):
        assert noise not in said, said
    run = load_run(res.run_dir)
    library = [e for e in run.events if e["name"] == "library"]
    assert any(e["detail"]["logger"].startswith("pymodbus") for e in library), library
    assert run.meta["status"] == "error"
    assert run.meta["preflight"]["failed"] == ["ev1", "ev2", "meter", "mains"]
    assert run.verdicts == [] and not [f for f in run.frames if f["case"]]
    # nothing was asked of the station: the CSMS never started; the rig still went safe
    assert not [e for e in run.events if e["kind"] in ("connection", "handshake")]
    assert [e for e in run.events if e["kind"] == "safe_state" and e["name"] == "done"]


def test_the_url_to_point_the_station_at() -> None:
    rig = load_rig(SIM_RIG)
    assert station_urls(rig) == ["ws://127.0.0.1:9000/ocpp/SMARTDC-SIM-01"]
    lab = dataclasses.replace(rig, csms=dataclasses.replace(rig.csms, host="0.0.0.0"),
                              station=dataclasses.replace(rig.station, id="LAB 01",
                                                          security_profile=2))
    urls = station_urls(lab, port=9443)
    assert urls[-1] == "wss://127.0.0.1:9443/ocpp/LAB%2001"  # loopback last
    assert all(u.startswith("wss://") and u.endswith(":9443/ocpp/LAB%2001") for u in urls)
    assert len(urls) == len(set(urls))

"""The socket-rig Core cases (TC_005_1..3, TC_017_1, TC_018_1, TC_024, TC_030) on a
simulated socket rig: the conformant station passes all of them, and each socket fault profile
is caught by the case that must catch it, FAILing with a message naming the non-conformance.

The rig is rigs/sim.toml made a socket rig here (a socket outlet with a lock the rig can hold,
EV emulators with the socket actuators of register map bench-ev-v2, a station TOML with
fixed_cable = false). Every run starts in one parallel fixture, as in test_faults_station.py.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_plans_support import REPO, BenchRunResult, assert_fault_caught, bench_run, fast_plan

from bench.record.reader import load_run
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SOCKET_CASES = ("TC_005_1_CS", "TC_005_2_CS", "TC_005_3_CS", "TC_017_1_CS", "TC_018_1_CS",
                "TC_024_CS", "TC_030_CS")
# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "lock_failure_unreported": ("TC_024_CS", "forbidden StartTransaction"),
    "unlock_ignores_lock": ("TC_030_CS", "UnlockConnector.conf status UnlockFailed; the station "
                                         "answered status='Unlocked'"),
    "socket_cable_unseen": ("TC_005_1_CS", "expected StatusNotification(connector 1, "
                                           "Finishing) after the stop: the cable is still in "
                                           "the station's socket (OCPP 1.6 ChargePointStatus "
                                           "Finishing: the cable has not been removed); the "
                                           "station sent status Available"),
    "unlock_keeps_transaction": ("TC_018_1_CS", "expected StopTransaction"),
    "unlock_not_supported": ("TC_017_1_CS", "UnlockConnector.conf status Unlocked; the station "
                                            "answered status='NotSupported'"),
}


def socket_rig(folder: Path) -> Path:
    """rigs/sim.toml as a socket rig: hardware, EV register map and the station's outlet."""
    station = folder / "socket-station.toml"
    station.write_text("[station]\nfixed_cable = false\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    for old, new in (("fixed_cable = true", "fixed_cable = false"),
                     ("connector_lock = false", "connector_lock = true"),
                     ('register_map = "bench-ev-v1"', 'register_map = "bench-ev-v2"')):
        assert old in text, f"rigs/sim.toml no longer has {old!r}"
        text = text.replace(old, new)
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "socket-rig.toml"
    rig.write_text(text, "utf-8")
    return rig


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    """Requested before socket_runs: a missing part skips (fails in CI) before any run."""
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def socket_runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """`ok`: every socket case on the conformant station (with its reports); `fault:NAME`:
    the case that must catch NAME, with the fault."""
    jobs: dict[str, list[str]] = {"ok": ["--cases", ",".join(SOCKET_CASES)]}
    jobs.update({f"fault:{fault}": ["--cases", case, "--fault", fault, "--no-reports"]
                 for fault, (case, _) in CAUGHT_BY.items()})
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        return bench_run(tmp, "--plan", str(fast_plan(tmp)), "--rig", str(socket_rig(tmp)),
                         *jobs[name], timeout=240)

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


def test_socket_faults_are_listed_with_their_case() -> None:
    for fault, (case, _) in CAUGHT_BY.items():
        assert fault in FAULTS and case in FAULTS[fault].affects, fault


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_socket_fault_is_caught(fault: str, real_parts,
                                socket_runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    res = socket_runs[f"fault:{fault}"]
    assert_fault_caught(res, case, text)


def test_conformant_socket_station_passes(real_parts,
                                          socket_runs: dict[str, BenchRunResult]) -> None:
    res = socket_runs["ok"]
    verdicts = res.verdicts()
    assert {c: verdicts[c]["verdict"] for c in SOCKET_CASES} == dict.fromkeys(SOCKET_CASES,
                                                                             "PASS"), verdicts
    assert res.rc == 0, res.stdout + res.stderr
    # the Test Result Summary: Core with its result and counts, the optional profiles N/A
    # (the rig declares Core only); summary.json and the exit code agree
    summary = json.loads((res.run_dir / "summary.json").read_text("utf-8"))
    assert summary["verdict"] == "PASS" and summary["exit_code"] == 0
    core = summary["profiles"]["Core"]
    assert core["result"] == "PASS" and core["counts"]["PASS"] == len(SOCKET_CASES)
    assert set(core["cases"]) == set(SOCKET_CASES)
    optional = {k: v["result"] for k, v in summary["profiles"].items() if k != "Core"}
    assert optional and set(optional.values()) == {"N/A"}, optional
    html = (res.run_dir / "report.html").read_text("utf-8")
    row = html[html.index('<tr data-profile="Core">'):]
    row = row[:row.index("</tr>")]
    assert f"PASS {len(SOCKET_CASES)}, FAIL 0" in row and all(c in row for c in SOCKET_CASES)
    for name in optional:
        assert f'<tr data-profile="{name}">' in html, name
    # the maintenance got every cable out between the cases, also the one the station keeps
    # locked after TC_005_3 (UnlockConnectorOnEVSideDisconnect=false: it unlocks it first)
    steps = [e for e in load_run(res.run_dir).events if e.get("kind") == "step"
             and str(e.get("name")).startswith("maintenance")]
    assert steps and not [e for e in steps if "error" in e["detail"]], steps
    unlocks = [f for f in load_run(res.run_dir).frames if f.get("action") == "UnlockConnector"
               and f.get("case") == "TC_005_3_CS" and f["direction"] == "out"]
    assert unlocks, "no UnlockConnector in TC_005_3's maintenance"
    # the verbs left their evidence, read back from the EV emulator's socket registers: the
    # half plug with the pin open, the lock held closed and let go, the pulls
    verbs: dict[str, list[dict]] = {}
    for e in load_run(res.run_dir).events:
        if e.get("kind") == "verb":
            verbs.setdefault(str(e.get("name")), []).append(e["detail"])
    assert {"half_plug", "hold_lock", "unplug_ev_side", "unplug_station_side"} <= set(verbs)
    (half,) = verbs["half_plug"]
    assert (half["readback"]["socket_plug"], half["readback"]["lock_closed"]) == ("half", False)
    held, released = verbs["hold_lock"]
    assert held["commanded"]["lock_held"] and held["readback"]["lock_closed"]
    assert not released["commanded"]["lock_held"] and not released["readback"]["lock_held"]
    assert all(v["readback"]["socket_plug"] == "out" for v in verbs["unplug_station_side"])
    assert all(v["issued_mono_ns"] <= v["confirmed_mono_ns"] for vs in verbs.values()
               for v in vs if "error" not in v)

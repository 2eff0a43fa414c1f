"""Each behaviour profile of the station simulator leaves the cases it names PASSing.

A behaviour (`bench sim --behaviour NAME`, via `bench run --behaviour NAME`) is conformant
but unusual; the bench must judge it by the OCPP text, not by what our default simulator
does. For each behaviour every case in its `passes` must PASS, and its row in EXERCISED must
find in the run record that the behaviour really happened (else the PASS proves nothing).
Every behaviour needs that row. RIG_VARIANTS does the same for what a rig, not the station,
makes unusual (one RFID reader per connector). One `bench run` per (behaviour, case), a few at
a time.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_faults_localauth_reservation import EXERCISED as LOCAL_LIST_AND_RESERVATION
from test_plans_support import REPO, BenchRunResult, bench_run, fast_plan

from bench.record.reader import RunData, load_run
from sim.station.behaviours import BEHAVIOURS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PARALLEL_RUNS = 4
# behaviours of optional profiles, proven by their own module on a rig declaring the profile
HERE = sorted(set(BEHAVIOURS) - set(LOCAL_LIST_AND_RESERVATION))
HEARTBEAT_S, TOLERANCE_S = 2.0, 0.25  # test_plans_support.FAST_PLAN


def rig_with_station_keys(folder: Path, keys: str, name: str) -> Path:
    """rigs/sim.toml whose simulated station has these [keys] (TOML lines)."""
    station = folder / f"{name}-station.toml"
    station.write_text(f"[keys]\n{keys}\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / f"{name}-rig.toml"
    rig.write_text(text, "utf-8")
    return rig


def heartbeat_rig(folder: Path) -> Path:
    """ClockAlignedDataInterval 3 s: main-meter MeterValues land inside every Heartbeat
    window of the fast plan (interval 2 s)."""
    return rig_with_station_keys(folder, "ClockAlignedDataInterval = 3", "heartbeat")


def no_remote_authorize_rig(folder: Path) -> Path:
    """AuthorizeRemoteTxRequests = false (the SmartDC has true)."""
    return rig_with_station_keys(folder, "AuthorizeRemoteTxRequests = false", "remote")


def reader_per_connector_rig(folder: Path) -> Path:
    """The hardware set declares one RFID reader per connector."""
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    assert "rfid_readers = 1" in text
    rig = folder / "readers-rig.toml"
    rig.write_text(text.replace("rfid_readers = 1", "rfid_readers = 2"), "utf-8")
    return rig


def station_calls(run: RunData) -> list[dict[str, Any]]:
    return [f for f in run.frames if f["direction"] == "in" and f["msg_type"] == 2]


def payload(frame: dict[str, Any]) -> Any:
    return json.loads(frame["raw"])[-1]


def bench_calls(run: RunData, action: str) -> list[dict[str, Any]]:
    return [f for f in run.frames if f["direction"] == "out" and f["msg_type"] == 2
            and f["action"] == action]


def first_call(run: RunData, action: str, after_seq: int = 0,
               where: Callable[[Any], bool] = lambda p: True) -> dict[str, Any] | None:
    return next((f for f in station_calls(run) if f["action"] == action
                 and f["seq"] > after_seq and where(payload(f))), None)


def authorize_after_remote_start(run: RunData) -> str | None:
    starts = bench_calls(run, "RemoteStartTransaction")
    if not starts:
        return "no RemoteStartTransaction in the run"
    if first_call(run, "Authorize", starts[0]["seq"]) is None:
        return "no Authorize after the RemoteStartTransaction"
    return None


def status_first(run: RunData) -> str | None:
    """StatusNotification(Charging) before StartTransaction, (Finishing) before StopTransaction."""
    for status, action in (("Charging", "StartTransaction"), ("Finishing", "StopTransaction")):
        sn = first_call(run, "StatusNotification", where=lambda p, s=status: p["status"] == s)
        msg = first_call(run, action)
        if sn is None or msg is None or sn["seq"] > msg["seq"]:
            return f"StatusNotification({status}) did not come before the {action}"
    return None


def offline_while_rejected(run: RunData) -> str | None:
    boots = [f for f in station_calls(run) if f["action"] == "BootNotification"]
    rejected = next((b for b in boots if any(
        f["direction"] == "out" and f["msg_id"] == b["msg_id"] and "Rejected" in f["raw"]
        for f in run.frames)), None)
    if rejected is None:
        return "no BootNotification answered Rejected"
    later = [b for b in boots if b["seq"] > rejected["seq"]]
    closed = [e for e in run.events if e["kind"] == "connection" and e["name"] == "disconnected"
              and rejected["seq"] < e["seq"] < (later[0]["seq"] if later else 1 << 62)]
    return None if later and closed else "the station stayed connected while Rejected"


def lacks_minimum_status_duration(run: RunData) -> str | None:
    answers = [f for f in run.frames if f["direction"] == "in" and f["msg_type"] == 3
               and "MinimumStatusDuration" in payload(f).get("unknownKey", [])]
    return None if answers else "no GetConfiguration answer with MinimumStatusDuration unknown"


def faulted_ground_failure(run: RunData) -> str | None:
    sn = first_call(run, "StatusNotification", where=lambda p: p["status"] == "Faulted")
    if sn is None or payload(sn)["errorCode"] != "GroundFailure":
        return f"Faulted with errorCode {payload(sn)['errorCode'] if sn else None}"
    return None


def stopped_after_reboot(run: RunData) -> str | None:
    resets = bench_calls(run, "Reset")
    boot = first_call(run, "BootNotification", resets[0]["seq"]) if resets else None
    stop = first_call(run, "StopTransaction")
    if boot is None or stop is None or stop["seq"] < boot["seq"]:
        return "no StopTransaction after the BootNotification that followed the Reset"
    return None if payload(stop).get("reason") == "HardReset" else "reason not HardReset"


def resumed_after_power(run: RunData) -> str | None:
    boots = [f for f in station_calls(run) if f["action"] == "BootNotification"]
    after = boots[-1]["seq"] if boots else 0
    charging = first_call(run, "StatusNotification", after,
                          lambda p: p["connectorId"] == 1 and p["status"] == "Charging")
    stop = first_call(run, "StopTransaction", after)
    if charging is None:
        return "connector 1 did not report Charging after the power came back"
    if stop is None or payload(stop).get("reason", "Local") != "Local":
        return "the resumed transaction was not stopped by the driver (reason Local)"
    return None


def resent_meter_values(run: RunData) -> str | None:
    seen: dict[str, int] = {}
    for f in station_calls(run):
        if f["action"] == "MeterValues":
            key = json.dumps(payload(f), sort_keys=True)
            if key in seen:
                return None
            seen[key] = f["seq"]
    return "no MeterValues sent twice with the same payload"


def callerror_for_connector0(run: RunData) -> str | None:
    starts = bench_calls(run, "RemoteStartTransaction")
    ids = {f["msg_id"] for f in starts if payload(f).get("connectorId") == 0}
    errors = [f for f in run.frames if f["direction"] == "in" and f["msg_type"] == 4
              and f["msg_id"] in ids]
    return None if errors else "RemoteStartTransaction(connectorId 0) got no CALLERROR"


def stop_without_reason(run: RunData) -> str | None:
    stop = first_call(run, "StopTransaction")
    return None if stop and "reason" not in payload(stop) else "the reason was not left out"


def authorize_for_second_card(run: RunData) -> str | None:
    found = first_call(run, "Authorize", where=lambda p: p["idTag"] == "04A1B2C3D4E5F7")
    return None if found else "no Authorize for card valid2"


def skipped_after_meter_values(run: RunData) -> str | None:
    """A Heartbeat that came an interval after a main-meter MeterValues, more than
    interval + tolerance after the Heartbeat before it (the one the MeterValues replaced)."""
    calls = [f for f in station_calls(run) if f["action"] in ("Heartbeat", "MeterValues")]
    beats = [f for f in calls if f["action"] == "Heartbeat"]
    for a, b in itertools.pairwise(beats):
        between = [f for f in calls if a["seq"] < f["seq"] < b["seq"]]
        if (between and all(json.loads(f["raw"])[3].get("connectorId") == 0 for f in between)
                and (b["mono_ns"] - a["mono_ns"]) / 1e9 > HEARTBEAT_S + TOLERANCE_S):
            return None
    return "no Heartbeat skipped after main-meter MeterValues"


def queued_on_reconnect(run: RunData) -> str | None:
    """After the network cut: a Heartbeat at once on the new connection (the default station
    waits an interval), and, unless other PDUs came between, the next one less than an
    interval after it (the cadence from before the cut)."""
    cut = next((e for e in run.events if e["kind"] == "connection" and e["name"] == "cut"), None)
    if cut is None:
        return "no network cut in the run"
    opened = next((e for e in run.events if e["kind"] == "connection"
                   and e["name"] == "connected" and e["seq"] > cut["seq"]), None)
    if opened is None:
        return "no reconnection after the cut"
    calls = [f for f in station_calls(run) if f["seq"] > opened["seq"]]
    beats = [f for f in calls if f["action"] == "Heartbeat"][:2]
    if len(beats) < 2:
        return "fewer than two Heartbeats after the reconnection"
    early = (beats[0]["mono_ns"] - opened["mono_ns"]) / 1e9
    if early > 0.5:
        return f"first Heartbeat {early:.3f} s after the reconnection (not queued)"
    others = [f for f in calls if beats[0]["seq"] < f["seq"] < beats[1]["seq"]]
    cadence = (beats[1]["mono_ns"] - beats[0]["mono_ns"]) / 1e9
    if not others and cadence >= HEARTBEAT_S:
        return f"the Heartbeat after the queued one came {cadence:.3f} s later (cadence lost)"
    return None


# behaviour -> (rig builder or None, {case: check of the record -> None or what is missing})
EXERCISED: dict[str, tuple[Callable[[Path], Path] | None,
                           dict[str, Callable[[RunData], str | None]]]] = {
    "heartbeat_skips_and_queues": (heartbeat_rig, {
        "TC_001_CS": skipped_after_meter_values,
        "TC_002_CS": skipped_after_meter_values,
        "TC_035_CS": lambda run: skipped_after_meter_values(run) or queued_on_reconnect(run),
    }),
    "authorize_remote_anyway": (no_remote_authorize_rig, {
        "TC_010_CS": authorize_after_remote_start,
        "TC_011_2_CS": authorize_after_remote_start,
    }),
    "status_before_transaction_message": (None, {"TC_012_CS": status_first}),
    "rejected_goes_offline": (None, {"TC_001_CS": offline_while_rejected}),
    "no_minimum_status_duration": (None, {"TC_023_1_CS": lacks_minimum_status_duration}),
    "pilot_fault_ground_failure": (None, {"TC_041_CS": faulted_ground_failure}),
    "hard_reset_stops_after_reboot": (None, {"TC_015_CS": stopped_after_reboot}),
    "resumes_after_power_loss": (None, {"TC_032_2_CS": resumed_after_power}),
    "resends_meter_values_on_reconnect": (None, {"TC_036_CS": resent_meter_values}),
    "remote_start_connector0_callerror": (None, {"TC_027_CS": callerror_for_connector0}),
    "stop_reason_local_omitted": (None, {"TC_038_CS": stop_without_reason}),
}

# what a rig makes unusual: name -> (rig builder, case, check of the record)
RIG_VARIANTS: dict[str, tuple[Callable[[Path], Path], str, Callable[[RunData], str | None]]] = {
    # OCTT TC_068 step 1 expects no Authorize with one reader per connector; OCPP 1.6 §4.1
    # allows it (the station learns the other card's parentIdTag from it)
    "reader_per_connector": (reader_per_connector_rig, "TC_068_CS", authorize_for_second_card),
}


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def behaviour_runs(tmp_path_factory) -> dict[tuple[str, str], BenchRunResult]:
    """One run per (behaviour, case) and per rig variant (keyed (variant, case)), the runs
    with the longest cases first."""
    jobs = [(b, c) for b in HERE for c in BEHAVIOURS[b].passes]
    jobs += [(v, case) for v, (_, case, _) in RIG_VARIANTS.items()]
    jobs.sort(key=lambda job: job[1] not in ("TC_001_CS", "TC_035_CS", "TC_032_2_CS"))
    folders = {job: tmp_path_factory.mktemp(f"{job[0]}-{job[1]}") for job in jobs}

    def run(job: tuple[str, str]) -> BenchRunResult:
        name, case = job
        tmp = folders[job]
        if name in RIG_VARIANTS:
            return bench_run(tmp, "--plan", str(fast_plan(tmp)), "--cases", case, "--rig",
                             str(RIG_VARIANTS[name][0](tmp)), "--no-reports", timeout=240)
        make_rig = EXERCISED.get(name, (None, {}))[0]
        rig = ["--rig", str(make_rig(tmp))] if make_rig else []
        return bench_run(tmp, "--plan", str(fast_plan(tmp)), "--cases", case,
                         "--behaviour", name, *rig, "--no-reports", timeout=240)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {job: pool.submit(run, job) for job in jobs}
    return {job: f.result() for job, f in futures.items()}


@pytest.mark.parametrize(("behaviour", "case"),
                         [(b, c) for b in HERE for c in BEHAVIOURS[b].passes])
def test_behaviour_passes_its_cases(behaviour: str, case: str, real_parts,
                                    behaviour_runs: dict[tuple[str, str], BenchRunResult]) -> None:
    assert behaviour in EXERCISED, f"behaviour {behaviour} has no EXERCISED row: add one"
    checks = EXERCISED[behaviour][1]
    assert case in checks, f"{behaviour}: no check that it showed in {case}"
    res = behaviour_runs[(behaviour, case)]
    v = res.verdicts()[case]
    assert v["verdict"] == "PASS", v["message"]
    assert res.rc == 0, res.stdout + res.stderr
    run = load_run(res.run_dir)
    assert run.meta["behaviours"] == [behaviour]
    missing = checks[case](run)
    assert missing is None, f"{behaviour} did not show in {case}: {missing}"


@pytest.mark.parametrize("variant", sorted(RIG_VARIANTS))
def test_rig_variant_passes_its_case(variant: str, real_parts,
                                     behaviour_runs: dict[tuple[str, str], BenchRunResult]) -> None:
    _, case, check = RIG_VARIANTS[variant]
    res = behaviour_runs[(variant, case)]
    v = res.verdicts()[case]
    assert v["verdict"] == "PASS", v["message"]
    assert res.rc == 0, res.stdout + res.stderr
    missing = check(load_run(res.run_dir))
    assert missing is None, f"{variant} did not show in {case}: {missing}"


def test_bench_run_refuses_an_unknown_behaviour(tmp_path: Path) -> None:
    res = bench_run(tmp_path, "--cases", "TC_001_CS", "--behaviour", "polite_station")
    assert res.rc == 2
    assert "polite_station" in res.stderr and "heartbeat_skips_and_queues" in res.stderr


def test_bench_sim_lists_every_behaviour() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.cli", "sim", "--list-behaviours"],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for b in BEHAVIOURS.values():
        line = next(x for x in out.stdout.splitlines() if x.startswith(b.name))
        assert all(c in line for c in b.passes) and "allowed by" in line

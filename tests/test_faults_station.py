"""Each fault profile of the station simulator is caught by the case that should catch it.

For a fault (`bench sim --fault NAME`, via `bench run --fault NAME`) the case named below must
FAIL with a message naming the non-conformance; the conformant station passes the same cases.
Every fault needs its row in CAUGHT_BY: a fault no case catches fails here (the socket
outlet's faults are proven on a socket rig, tests/test_faults_socket.py).

The runs are independent processes (own ports, own pcscd) that mostly wait on the station's
timers, so they run a few at a time; each parametrised test then judges its own run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_faults_socket import CAUGHT_BY as CAUGHT_ON_SOCKET_RIG
from test_plans_support import REPO, BenchRunResult, assert_fault_caught, bench_run, fast_plan

from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from reports.catalog import CORE, OTHER, profile_of
from sim.station.faults import FAULTS

# the runs start in one fixture: about 2 min on an idle 2-core machine, more when it is shared
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "late_remote_start": ("TC_010_CS", "remote_start.response_time"),
    "remote_start_ignores_authorize": ("TC_010_CS", "expected Authorize"),
    "wrong_stop_reason": ("TC_012_CS", "expected StopTransaction reason Remote; the station "
                                       "sent reason Local"),
    "meter_interval_12s": ("TC_070_CS", "meter_values.sample_interval_error"),
    "clock_aligned_off_boundary": ("TC_071_CS", "meter_values.clock_alignment_offset"),
    "no_connector0_status": ("TC_001_CS", "StatusNotification (connectorId=0)"),
    "heartbeat_wrong_interval": ("TC_001_CS", "heartbeat.idle_gap"),
    "invalid_boot_notification": ("TC_001_CS", "valid against the OCPP 1.6 schema"),
    "availability_not_persisted": ("TC_013_CS", "expected StatusNotification(connector 1, "
                                                "Unavailable); the station sent status Available"),
    "connection_timeout_ignored": ("TC_004_2_CS", "it stayed Preparing"),
    "ev_disconnect_always_stops": ("TC_005_3_CS", "kept open after the EV unplugged"),
    "invalid_value_accepted": ("TC_040_2_CS", "status Rejected; the station answered "
                                              "status='Accepted'"),
    "unknown_key_accepted": ("TC_040_1_CS", "status NotSupported; the station answered "
                                            "status='Accepted'"),
    "no_soft_reset_reason": ("TC_016_CS", "expected StopTransaction reason SoftReset"),
    "remote_start_busy_accepted": ("TC_026_CS", "RemoteStartTransaction.conf status Rejected; "
                                                "the station answered status='Accepted'"),
    "stop_on_other_tag": ("TC_068_CS", "the station stopped it"),
    "queued_out_of_order": ("TC_039_CS", "expected the queued StartTransaction before the "
                                         "StopTransaction"),
    "no_transaction_retry": ("BENCH_TX_RETRY", "the station did not resend it"),
    "contactor_stays_closed": ("TC_012_CS", "expected output current below 1 A"),
    "timestamps_without_milliseconds": ("TC_001_CS", "timestamps with milliseconds"),
    # run-wide and per-transaction checks that now fail the case they were taken in
    "clock_ahead": ("TC_003_CS", "measurement clock.offset = 9.9"),
    "energy_register_high": ("TC_070_CS", "measurement energy.deviation = "),
    "clock_aligned_late": ("TC_071_CS", "measurement meter_values.clock_alignment_offset = 1.2"),
    # TC_061 is N/A on the SmartDC (no cache): this one runs on cache_rig()
    "no_authorize_after_clear_cache": ("TC_061_CS", "sent no Authorize within"),
}
# cases that need a station with an authorization cache (the SmartDC has none)
NEEDS_CACHE_RIG = {"TC_061_CS"}


def cache_rig(folder: Path) -> Path:
    """rigs/sim.toml with an authorization cache, in the hardware set and in the station."""
    station = folder / "cache-station.toml"
    station.write_text("[station]\nauthorization_cache = true\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace("authorization_cache = false", "authorization_cache = true")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / "cache-rig.toml"
    rig.write_text(text, "utf-8")
    return rig
PARALLEL_RUNS = 6
SLOW_FIRST = ("TC_001_CS", "TC_071_CS", "TC_070_CS", "TC_004_2_CS", "TC_039_CS")
# the conformant station runs the quick cases a few to a run: each run costs a bench, a
# simulated rig and a pcscd to start, which on two cores costs more than the cases themselves
CONFORMANT_GROUPS = 2


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    """Requested before fault_runs: a missing part skips (fails in CI) before any run."""
    return pcscd_binary, vpcd_driver


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """Every run of this module: `fault:NAME` (its case, with the fault) and `ok:CASE` (the
    conformant station), the slowest first."""
    cases = sorted({c for c, _ in CAUGHT_BY.values()},
                   key=lambda c: (c not in SLOW_FIRST, c))
    alone = [c for c in cases if c in SLOW_FIRST or c in NEEDS_CACHE_RIG]
    quick = [c for c in cases if c not in alone]
    shares = [quick[i::CONFORMANT_GROUPS] for i in range(CONFORMANT_GROUPS)]
    groups = [[c] for c in alone] + [share for share in shares if share]
    jobs: dict[str, list[str]] = {f"ok:{','.join(g)}": ["--cases", ",".join(g)] for g in groups}
    jobs.update({f"fault:{fault}": ["--cases", case, "--fault", fault]
                 for fault, (case, _) in sorted(CAUGHT_BY.items(),
                                                key=lambda kv: kv[1][0] not in SLOW_FIRST)})
    # tmp_path_factory is not thread-safe: make the folders here
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-").replace(",", "-")[:60])
               for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        rig = (["--rig", str(cache_rig(tmp))] if set(jobs[name]) & NEEDS_CACHE_RIG else [])
        return bench_run(tmp, "--plan", str(fast_plan(tmp)), *jobs[name], *rig,
                         "--no-reports", timeout=240)

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


def core_fault(name: str) -> bool:
    """A fault an optional profile's case catches is proven by that profile's own module
    (tests/test_faults_<profile>.py, on a rig declaring the profile); the socket rig's faults
    by tests/test_faults_socket.py."""
    return name not in CAUGHT_ON_SOCKET_RIG and any(
        profile_of(case) in (CORE, OTHER) for case in FAULTS[name].affects)


@pytest.mark.parametrize("fault", sorted(f for f in FAULTS if core_fault(f)))
def test_fault_is_caught(fault: str, real_parts, fault_runs: dict[str, BenchRunResult]) -> None:
    assert fault in CAUGHT_BY, f"no case is known to catch the fault {fault}: add its row"
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = fault_runs[f"fault:{fault}"]
    assert_fault_caught(res, case, text)


@pytest.mark.parametrize("case", sorted({c for c, _ in CAUGHT_BY.values()}))
def test_conformant_station_passes(case: str, real_parts,
                                   fault_runs: dict[str, BenchRunResult]) -> None:
    [res] = [r for name, r in fault_runs.items()
             if name.startswith("ok:") and case in name[3:].split(",")]
    v = res.verdicts()[case]
    assert v["verdict"] == "PASS", v["message"]
    judged = run_verdict(load_run(res.run_dir))  # the one verdict, as the reports see it
    assert judged.case(case).verdict == "PASS"
    # every case of a conformant run passes, so the run does, by its exit code too
    assert (judged.verdict, res.rc) == ("PASS", 0), res.stdout + res.stderr

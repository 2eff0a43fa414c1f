"""The Firmware Management and Remote Trigger cases catch the station faults they must, and
pass the conformant station and its conformant-but-unusual behaviours; the SmartDC rig (Core
only) keeps them N/A.

Each row of CAUGHT_BY is a fault and the case that must FAIL with it, with a message naming
the non-conformance, on a simulated rig that declares both profiles
(sim/profile_rigs.py). Faults that touch different cases share one `bench run`
(fault_groups); the conformant station runs every case in another.
Every run starts in one fixture, a few at a time (they mostly wait on the station).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from test_plans_support import REPO, BenchRunResult, assert_fault_caught, bench_run

from bench.record.reader import load_run
from bench.record.verdict import run_verdict
from sim.profile_rigs import write_profile_rig
from sim.station.behaviours import BEHAVIOURS
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "firmware_version_not_updated": ("TC_044_1_CS", "BootNotification firmwareVersion "
                                                    "'v8.9.0' after the installation"),
    "downloaded_before_download": ("TC_044_1_CS", "a complete download of tc_044_1_cs-"),
    "download_failure_silent": ("TC_044_2_CS", "expected FirmwareStatusNotification "
                                               "DownloadFailed after the "
                                               "FirmwareStatusNotification Downloading"),
    "image_not_verified": ("TC_044_3_CS", "expected FirmwareStatusNotification "
                                          "InstallationFailed after the FirmwareStatusNotification "
                                          "Installing"),
    "diagnostics_empty": ("TC_045_1_CS", "not empty"),
    "upload_failure_reported_uploaded": ("TC_045_2_CS", "expected DiagnosticsStatusNotification "
                                                        "UploadFailed"),
    "retry_without_interval": ("TC_044_2_CS", "measurement firmware.retry_wait_s = "),
    "trigger_status_not_sent": ("TC_054_CS", "expected StatusNotification (connectorId=1) "
                                             "after the TriggerMessage(StatusNotification)"),
    "trigger_unknown_connector_accepted": ("TC_055_CS", "TriggerMessage.conf status Rejected; "
                                                        "the station answered "
                                                        "status='Accepted'"),
}
CASES = ("TC_044_1_CS", "TC_044_2_CS", "TC_044_3_CS", "TC_045_1_CS", "TC_045_2_CS",
         "TC_054_CS", "TC_055_CS")
PARALLEL_RUNS = 5

PLAN = """
name = "firmware-trigger-fast"
description = "Firmware Management and Remote Trigger with the simulated station's short waits"
suites = ["firmware", "trigger"]

[sim_settings]
firmware_retry_interval_s = 1
firmware_download_timeout_s = 6     # the simulated station fetches in milliseconds: a fault
firmware_install_timeout_s = 10     # caught by a missing status costs these waits
diagnostics_timeout_s = 6
message_timeout_s = 3
boot_timeout_s = 15
heartbeat_interval_s = 3
interval_tolerance_s = 0.25
watch_s = 1.0
"""


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    """Requested before the runs: a missing part skips (fails in CI) before any run."""
    return pcscd_binary, vpcd_driver


def fault_groups() -> list[list[str]]:
    """The faults in as few runs as can share one: in a group no two faults touch the same
    case (FAULTS[...].affects), so each case fails for its own fault only."""
    groups: list[list[str]] = []
    for fault in CAUGHT_BY:
        touched = set(FAULTS[fault].affects)
        group = next((g for g in groups
                      if not touched & {c for f in g for c in FAULTS[f].affects}), None)
        if group is None:
            groups.append(group := [])
        group.append(fault)
    return groups


def run_of(fault: str) -> str:
    return next(f"faults:{i}" for i, g in enumerate(fault_groups()) if fault in g)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    """`ok` (every case, the conformant station), `faults:N` (a group of faults with the
    cases that catch them), `behaviours` and `smartdc` (every case on rigs/sim.toml)."""
    jobs: dict[str, list[str]] = {"ok": ["--cases", ",".join(CASES)]}
    for i, group in enumerate(fault_groups()):
        jobs[f"faults:{i}"] = ["--cases", ",".join(sorted({CAUGHT_BY[f][0] for f in group}))] \
            + [arg for f in group for arg in ("--fault", f)]
    jobs["smartdc"] = ["--cases", ",".join(CASES), "--rig", str(REPO / "rigs" / "sim.toml")]
    jobs["behaviours"] = ["--cases", ",".join(sorted({c for b in EXERCISED
                                                      for c in BEHAVIOURS[b].passes}))] + [
        arg for b in sorted(EXERCISED) for arg in ("--behaviour", b)]
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        tmp = folders[name]
        plan = tmp / "plan.toml"
        plan.write_text(PLAN, "utf-8")
        # the behaviours run takes HTTP, the others FTP (the first the station declares)
        protocols = "HTTP" if name == "behaviours" else "FTP,HTTP"
        rig = [] if name == "smartdc" else ["--rig", str(write_profile_rig(tmp, protocols))]
        return bench_run(tmp, "--plan", str(plan), *jobs[name], *rig, "--no-reports",
                         timeout=240)

    order = sorted(jobs, key=lambda n: len(jobs[n]), reverse=True)  # the longest first
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {name: pool.submit(run, name) for name in order}
    return {name: f.result() for name, f in futures.items()}


def station_calls(run, action: str) -> list[dict]:
    return [f for f in run.frames if f["direction"] == "in" and f["msg_type"] == 2
            and f["action"] == action]


def statuses_of(run, action: str) -> list[tuple[int, str]]:
    return [(f["seq"], json.loads(f["raw"])[3]["status"]) for f in station_calls(run, action)]


def installed_before_boot(run) -> str | None:
    installed = [seq for seq, s in statuses_of(run, "FirmwareStatusNotification")
                 if s == "Installed"]
    boots = [f["seq"] for f in station_calls(run, "BootNotification")]
    if not installed or not any(b > installed[0] for b in boots):
        return "no BootNotification after Installed"
    return None


def downloading_twice(run) -> str | None:
    seen = [s for _, s in statuses_of(run, "FirmwareStatusNotification")]
    pairs = list(itertools.pairwise(seen))
    return None if ("Downloading", "Downloading") in pairs else f"statuses {seen}"


def failed_after_boot(run) -> str | None:
    seen = statuses_of(run, "FirmwareStatusNotification")
    failed = [seq for seq, s in seen if s == "InstallationFailed"]
    installing = [seq for seq, s in seen if s == "Installing"]
    boots = [f["seq"] for f in station_calls(run, "BootNotification")]
    if not failed or not any(installing[-1] < b < failed[0] for b in boots):
        return "no BootNotification between Installing and InstallationFailed"
    return None


def zip_uploaded(run) -> str | None:
    received = run.path / "files" / "received"
    zips = [p for p in received.iterdir() if p.suffix == ".zip"] if received.is_dir() else []
    return None if zips else "no zip file received"


# behaviour -> {case: check of the record that it showed -> None or what is missing}
EXERCISED: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "installed_before_reboot": {"TC_044_1_CS": installed_before_boot},
    "reboots_before_installation_failed": {"TC_044_3_CS": failed_after_boot},
    "downloading_per_retry": {"TC_044_2_CS": downloading_twice},
    "diagnostics_zip": {"TC_045_1_CS": zip_uploaded},
}


@pytest.mark.parametrize("behaviour", sorted(EXERCISED))
def test_behaviour_passes_its_cases(behaviour: str, real_parts, runs) -> None:
    res = runs["behaviours"]
    run = load_run(res.run_dir)
    assert sorted(run.meta["behaviours"]) == sorted(EXERCISED)
    for case in BEHAVIOURS[behaviour].passes:
        v = res.verdicts()[case]
        assert v["verdict"] == "PASS", v["message"]
        missing = EXERCISED[behaviour][case](run)
        assert missing is None, f"{behaviour} did not show in {case}: {missing}"
    assert res.rc == 0, res.stdout + res.stderr


def test_every_profile_fault_and_behaviour_has_a_row():
    ours = {name for name, f in FAULTS.items() if set(f.affects) & set(CASES)}
    assert ours == set(CAUGHT_BY)
    ours = {name for name, b in BEHAVIOURS.items() if set(b.passes) & set(CASES)}
    assert ours == set(EXERCISED)


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_fault_is_caught(fault: str, real_parts, runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = runs[run_of(fault)]
    assert_fault_caught(res, case, text)


def test_maintenance_waits_out_the_update_a_failed_case_left_running(real_parts, runs) -> None:
    """downloaded_before_download fails TC_044_1 at Downloaded while the station goes on to
    download and install: the maintenance waits for its Installed and its reboot, so the
    next case does not start on a station in the middle of an update."""
    run = load_run(runs[run_of("downloaded_before_download")].run_dir)
    [step] = [e for e in run.events if e["name"] == "maintenance: firmware update ended"
              and e.get("case") == "TC_044_1_CS"]
    assert step["detail"].get("ok") is True, step
    seen = {json.loads(f["raw"])[3]["status"]: f["mono_ns"]
            for f in station_calls(run, "FirmwareStatusNotification")}
    assert "Installing" in seen and "Installed" in seen, f"the update did not end: {seen}"
    boots = [f["mono_ns"] for f in station_calls(run, "BootNotification")
             if f["mono_ns"] > seen["Installing"]]
    assert boots, "no reboot into the new image"
    assert seen["Installed"] < step["mono_ns"] and boots[0] < step["mono_ns"]


def test_conformant_station_passes_every_case(real_parts, runs) -> None:
    res = runs["ok"]
    verdicts = res.verdicts()
    assert {c: v["verdict"] for c, v in verdicts.items()} == dict.fromkeys(CASES, "PASS"), \
        {c: v["message"] for c, v in verdicts.items() if v["verdict"] != "PASS"}
    assert res.rc == 0, res.stdout + res.stderr
    run = load_run(res.run_dir)
    assert run_verdict(run).verdict == "PASS"
    measured = {m["name"]: m for m in run.measurements if m.get("case")}
    for name in ("firmware.download_s", "firmware.install_s", "firmware.transfer_s",
                 "diagnostics.upload_s", "triggered.update_firmware", "triggered.get_diagnostics",
                 "firmware.retry_wait_s", "diagnostics.retry_wait_s", "triggered.trigger_message"):
        assert name in measured, name
        assert measured[name]["outcome"] in ("PASS", "UNSET"), measured[name]
    received = list((res.run_dir / "files" / "received").iterdir())
    assert any(p.name.endswith(".tar.gz") and p.stat().st_size > 0 for p in received)


def test_smartdc_keeps_them_not_applicable(real_parts, runs) -> None:
    verdicts = runs["smartdc"].verdicts()
    for case in CASES:
        v = verdicts[case]
        assert v["verdict"] == "N/A", v
        profile = "RemoteTrigger" if case.startswith("TC_05") else "FirmwareManagement"
        assert f"requires feature profile {profile}" in v["message"]
        assert "feature_profiles = ['Core']" in v["message"]

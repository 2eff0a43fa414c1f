"""Each Security-whitepaper fault of the station simulator FAILs the case that must catch it,
with a message naming the non-conformance; the conformant station passes every case of the
security plan (rigs/sim-security.toml).

Five `bench run`s in one parallel fixture (_runs): the conformant station at profile 1 over the
whole plan and at profile 3 (the renewed certificate, the TLS cases, the behaviour profiles),
and the faults at both profiles (two runs at profile 1: the transport faults apart).
Each fault breaks one case family only (the password, the CSR, deletion by
hash, the log upload, the firmware signature, certificate checks, the profile fall-back...),
so one run proves several, each case failing with its own message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_plans_support import REPO, BenchRunResult, assert_fault_caught, bench_run

from bench.record.reader import RunData, load_run
from bench.record.verdict import run_verdict
from sim.station.behaviours import BEHAVIOURS
from sim.station.faults import FAULTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

RIG = REPO / "rigs" / "sim-security.toml"
TLS_RIG = REPO / "rigs" / "sim-security-tls.toml"  # profile 3
TLS_BASIC_RIG = REPO / "rigs" / "sim-security-tls-basic.toml"  # profile 2

# fault -> (the case that catches it, text its FAIL message must contain)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "password_not_applied": ("TC_073_CS", "the endpoint refused HTTP 401: wrong password"),
    "csr_short_key": ("TC_074_CS", "the station sent a 1024-bit RSA key"),
    "delete_sha256_only": ("TC_076_CS", "DeleteCertificate(SHA384 hash data).conf status "
                                        "Accepted; the station answered status='NotFound'"),
    "invalid_certificate_accepted": ("TC_077_CS", "CertificateSigned.conf status Rejected; "
                                                  "the station answered status='Accepted'"),
    "security_log_not_uploaded": ("TC_079_CS", "reported Uploaded"),
    "bad_signature_installed": ("TC_081_CS", "the station sent SignatureVerified"),
    "accepts_lower_profile": ("TC_084_CS", "status Rejected; the station answered "
                                           "status='Accepted'"),
    "no_security_events": ("TC_078_CS", "SecurityEventNotification (type="
                                        "'InvalidCentralSystemCertificate')"),
    "falls_back_to_lower_profile": ("TC_083_CS", "no plain (profile 1) connection attempt "
                                                 "after the cut"),
    "keeps_old_certificate": ("TC_074_CS", "expected the TLS client certificate to be the one "
                                           "the bench signed"),
    "basic_user_not_identity_on_reconnect": (
        "TC_085_CS", "expected attempt 1: the Basic user name to be the charge point identity "
                     "'SMARTDC-SIM-01' (the URL's last path segment); the station sent user "
                     "name 'SMARTDC-SIM-0001'"),
    "accepts_any_server_certificate": (
        "TC_086_CS", "expected the station to refuse a server certificate that does not chain "
                     "to its CentralSystemRootCertificate; the station connected over TLS"),
    "no_client_certificate_on_reconnect": (
        "TC_087_CS", "refused by the endpoint since the cut: no client certificate"),
    "no_subprotocol_on_reconnect": (
        "TC_088_CS", "expected attempt 1: Sec-WebSocket-Protocol offering ocpp1.6; the station "
                     "offered no subprotocol"),
}
# the faults armed in a run at security profile 3 (tls_rig): keeps_old_certificate,
# the TLS ones (TC_086, TC_087) show only there; no_security_events and accepts_lower_profile
# would spoil cases of the profile-1 run after theirs (a silent station fails every event
# check, a lowered profile every later case)
AT_PROFILE_3 = ("keeps_old_certificate", "no_security_events", "accepts_lower_profile",
                "accepts_any_server_certificate", "no_client_certificate_on_reconnect")
# a second run at profile 1 for TC_085 and TC_088: in the profile-1 faults run they would come
# after TC_083, whose fault leaves the station unable to get in again (cases run in file
# order), and in the profile-3 one no_client_certificate_on_reconnect would end the first
# attempt of TC_088's reconnection before its HTTP handshake, hiding the missing subprotocol
TRANSPORT_AT_PROFILE_1 = ("basic_user_not_identity_on_reconnect", "no_subprotocol_on_reconnect")
# the transport cases that apply at profile 2 (TC_073: the password still matters there),
# and the file-transfer cases, which go over HTTPS there
AT_PROFILE_2 = ("TC_073_CS", "TC_079_CS", "TC_080_CS", "TC_085_CS", "TC_086_CS", "TC_088_CS")
# the file-transfer cases' protocol per run (the setting file_protocol; HTTP elsewhere)
SECURE_TRANSFERS = {"p2": "HTTPS", "p3-ok": "FTPS"}
# the conformant station at profile 3 (p3-ok): the cases that need it
AT_PROFILE_3_ONLY = ("TC_086_CS", "TC_087_CS")

FAST_SECURITY_PLAN = """
name = "security-fast"
suites = ["security"]
[sim_settings]
message_timeout_s = 3
boot_timeout_s = 8
security_reconnect_s = 4
security_fallback_window_s = 3
watch_s = 1
settle_timeout_s = 5
power_off_s = 1
max_time_deviation_s = 1
"""


def tls_rig(folder: Path, shipped: Path = TLS_RIG) -> Path:
    """A shipped TLS rig (default rigs/sim-security-tls.toml: profile 3, client certificates;
    TC_074 then judges the renewed certificate's use), its throw-away PKI made in `folder`."""
    text = shipped.read_text("utf-8").replace(
        'station_config = "sim-security-station.toml"',
        f"station_config = {str(RIG.parent / 'sim-security-station.toml')!r}")
    rig = folder / shipped.name
    rig.write_text(text, "utf-8")
    return rig


def _fault_run(faults: list[str]) -> list[str]:
    return ["--cases", ",".join(CAUGHT_BY[f][0] for f in faults),
            *[a for f in faults for a in ("--fault", f)]]


# conformant but unusual (sim/station/behaviours.py): behaviour -> check of its run's record
# (None, or what did not show); all of them in the conformant run at profile 3
def _listed_sha512(run: RunData) -> str | None:
    answers = [json.loads(f["raw"])[2] for f in run.frames
               if f["direction"] == "in" and f["msg_type"] == 3]
    algs = {h.get("hashAlgorithm") for a in answers if isinstance(a, dict)
            for h in a.get("certificateHashData", [])}
    return None if algs == {"SHA512"} else f"hash algorithms listed: {sorted(algs)}"


def _no_install_rebooting(run: RunData) -> str | None:
    statuses = [json.loads(f["raw"])[3].get("status") for f in run.frames
                if f["direction"] == "in" and f["action"] == "SignedFirmwareStatusNotification"]
    if "Installed" not in statuses:
        return f"no Installed ({statuses})"
    return "sent InstallRebooting" if "InstallRebooting" in statuses else None


SHOWN_BY: dict[str, Callable[[RunData], str | None]] = {
    "hash_data_sha512": _listed_sha512,
    "firmware_without_install_rebooting": _no_install_rebooting,
}


def _runs() -> dict[str, list[str]]:
    """The conformant station at profile 1 (every case) and at profile 3 (TC_074, the
    behaviours' cases, the file transfers over FTPS), the faults at profiles 1 and 3, the
    transport faults at profile 1, and the cases of profile 2."""
    cases = sorted({"TC_074_CS", *AT_PROFILE_3_ONLY, "TC_088_CS", "TC_079_CS", "TC_080_CS",
                    *(c for b in SHOWN_BY for c in BEHAVIOURS[b].passes)})
    return {"ok": [],
            "p3-ok": ["--cases", ",".join(cases),
                      *[a for b in SHOWN_BY for a in ("--behaviour", b)]],
            "faults": _fault_run([f for f in CAUGHT_BY if f not in AT_PROFILE_3
                                  and f not in TRANSPORT_AT_PROFILE_1]),
            "transport-faults": _fault_run(list(TRANSPORT_AT_PROFILE_1)),
            "p3-faults": _fault_run(list(AT_PROFILE_3)),
            # profile 2 (TLS and Basic) on its shipped rig: the cases that apply there pass,
            # and TC_086 fails a station that takes any server certificate
            "p2": ["--cases", ",".join(AT_PROFILE_2), "--fault", "accepts_any_server_certificate"]}


def _run_of(fault: str) -> str:
    if fault in TRANSPORT_AT_PROFILE_1:
        return "transport-faults"
    return "p3-faults" if fault in AT_PROFILE_3 else "faults"


@pytest.fixture(scope="module")
def security_runs(tmp_path_factory) -> dict[str, BenchRunResult]:
    jobs = _runs()
    folders = {n: tmp_path_factory.mktemp(n.replace(":", "-")) for n in jobs}

    def run(name: str) -> BenchRunResult:
        plan = Path(folders[name]) / "security-fast.toml"
        protocol = SECURE_TRANSFERS.get(name)
        plan.write_text(FAST_SECURITY_PLAN + (f'file_protocol = "{protocol}"\n' if protocol
                                              else ""), "utf-8")
        rig = (tls_rig(folders[name]) if name.startswith("p3-") else
               tls_rig(folders[name], TLS_BASIC_RIG) if name == "p2" else RIG)
        return bench_run(folders[name], "--plan", str(plan), "--rig", str(rig), *jobs[name],
                         "--no-reports", timeout=240)

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
    return {name: f.result() for name, f in futures.items()}


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def test_every_security_fault_has_its_row() -> None:
    mine = {n for n, f in FAULTS.items() if any(c in CASES for c in f.affects)}
    assert mine == set(CAUGHT_BY), "a Security fault without its row here (or a stale row)"


CASES = {p.stem.removeprefix("test_").upper() for p in
         (REPO / "testplans" / "security").glob("test_tc_*.py")}


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_security_fault_is_caught(fault: str, real_parts,
                                  security_runs: dict[str, BenchRunResult]) -> None:
    case, text = CAUGHT_BY[fault]
    assert case in FAULTS[fault].affects, f"{fault} does not list {case} as affected"
    res = security_runs[_run_of(fault)]
    assert_fault_caught(res, case, text)


def test_conformant_station_passes_the_security_plan(
        real_parts, security_runs: dict[str, BenchRunResult]) -> None:
    res = security_runs["ok"]
    verdicts = res.verdicts()
    assert set(verdicts) == CASES, sorted(verdicts)
    not_passed = {c: v["verdict"] for c, v in verdicts.items() if v["verdict"] != "PASS"}
    assert not_passed == dict.fromkeys(AT_PROFILE_3_ONLY, "N/A")  # the rig is at profile 1
    for case in AT_PROFILE_3_ONLY:
        assert "the rig says [station] security_profile = 1" in verdicts[case]["message"]
    assert res.rc == 0, res.stdout + res.stderr
    assert run_verdict(load_run(res.run_dir)).verdict == "PASS"


@pytest.mark.parametrize("case", [*AT_PROFILE_3_ONLY, "TC_088_CS"])
def test_transport_case_passes_at_profile_3(case: str, real_parts,
                                            security_runs: dict[str, BenchRunResult]) -> None:
    v = security_runs["p3-ok"].verdicts()[case]
    assert v["verdict"] == "PASS", v["message"]


def test_profile_2_rig_runs_the_transport_cases(
        real_parts, security_runs: dict[str, BenchRunResult]) -> None:
    """rigs/sim-security-tls-basic.toml: over TLS with Basic auth the password change and the
    transport cases pass; TC_086 still fails a station that takes any server certificate."""
    res = security_runs["p2"]
    assert_fault_caught(res, "TC_086_CS", CAUGHT_BY["accepts_any_server_certificate"][1])
    verdicts = res.verdicts()
    others = [c for c in AT_PROFILE_2 if c != "TC_086_CS"]
    assert {c: verdicts[c]["verdict"] for c in others} == dict.fromkeys(others, "PASS"), verdicts
    accepted = [e["detail"] for e in load_run(res.run_dir).events
                if e["kind"] == "handshake" and e["name"] == "accepted"]
    assert accepted and {(h["security_profile"], h["password_checked"]) for h in accepted} == {
        (2, True)}, accepted[:3]


@pytest.mark.parametrize("run_name", sorted(SECURE_TRANSFERS))
def test_security_transfers_over_tls(run_name: str, real_parts,
                                     security_runs: dict[str, BenchRunResult]) -> None:
    """GetLog and SignedUpdateFirmware over the bench's HTTPS and FTPS servers (the setting
    file_protocol) on the TLS rigs: every transfer of the run over that protocol, complete."""
    res = security_runs[run_name]
    for case in ("TC_079_CS", "TC_080_CS"):
        assert res.verdicts()[case]["verdict"] == "PASS", res.verdicts()[case]["message"]
    transfers = [e["detail"] for e in load_run(res.run_dir).events
                 if e["kind"] == "file" and e["name"] == "transfer"]
    assert {(t["protocol"], t["direction"]) for t in transfers if t["complete"]} >= {
        (SECURE_TRANSFERS[run_name], "upload"), (SECURE_TRANSFERS[run_name], "download")}
    assert {t["protocol"] for t in transfers} == {SECURE_TRANSFERS[run_name]}, transfers


def test_renewed_certificate_is_used_at_profile_3(
        real_parts, security_runs: dict[str, BenchRunResult]) -> None:
    res = security_runs["p3-ok"]
    v = res.verdicts()["TC_074_CS"]
    assert v["verdict"] == "PASS", v["message"]
    assert "ok: the TLS client certificate to be the one the bench signed" in v["checks"]
    assert res.rc == 0, res.stdout + res.stderr


def test_no_key_in_the_record(real_parts, security_runs: dict[str, BenchRunResult]) -> None:
    """TC_073 sends two keys over the wire: neither (in any spelling) is in the record, and
    the PKI's private keys stay in private/."""
    from bench.config.rig import load_rig
    from bench.csms.secrets import key_spellings

    run_dir = security_runs["ok"].run_dir
    keys = [b"OCA_OCTT_admin_test", load_rig(RIG).station.authorization_key]
    spellings = {s for k in keys for s in key_spellings(k)}
    for path in run_dir.rglob("*"):
        if path.is_file() and "private" not in path.relative_to(run_dir).parts:
            text = path.read_bytes().decode("latin-1")
            assert not [s for s in spellings if s in text], path
            assert "PRIVATE KEY" not in text, path
    assert list((run_dir / "private" / "pki").glob("*.key"))


def test_every_security_behaviour_is_shown() -> None:
    mine = {n for n, b in BEHAVIOURS.items() if any(c in CASES for c in b.passes)}
    assert mine == set(SHOWN_BY)


@pytest.mark.parametrize("behaviour", sorted(SHOWN_BY))
def test_security_behaviour_passes(behaviour: str, real_parts,
                                   security_runs: dict[str, BenchRunResult]) -> None:
    res = security_runs["p3-ok"]
    verdicts = res.verdicts()
    for case in BEHAVIOURS[behaviour].passes:
        assert verdicts[case]["verdict"] == "PASS", verdicts[case]["message"]
    assert res.rc == 0, res.stdout + res.stderr
    run = load_run(res.run_dir)
    assert behaviour in run.meta["behaviours"]
    missing = SHOWN_BY[behaviour](run)
    assert missing is None, f"{behaviour} did not show: {missing}"

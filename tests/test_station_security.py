"""Security profiles 1-3 of the simulated station: `bench run` on a simulated rig whose station
sends HTTP Basic credentials, speaks TLS and shows a client certificate; a wrong key is refused;
the AuthorizationKey never reaches the run directory or a log line."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from pathlib import Path

import pytest
from pki_support import make_pki
from test_plans_support import REPO, BenchRunResult, bench_run, fast_plan

from bench.config.rig import RigError, load_rig
from bench.csms import Csms, CsmsSettings
from bench.record import RunRecord
from bench.record.reader import load_run
from sim.station.security import StationSecurity

STATION_ID = "SMARTDC-SIM-01"  # rigs/sim.toml
KEY = bytes.fromhex("a1b2c3d4e5f60718293a4b5c6d7e8f9001122334")  # 20 bytes
WRONG_KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0ffeeddcc")


# -- a test PKI: one CA signs the CSMS certificate (127.0.0.1) and the station's (CN = id) -----

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"), {
        "csms": ("127.0.0.1", "127.0.0.1"), "station": (STATION_ID, None)},
        ca_name="station-security test CA")


# -- simulated rig files: rigs/sim.toml with a security profile -------------------------------

def secure_rig(folder: Path, profile: int, pki: dict[str, Path] | None = None,
               station_key: bytes | None = None) -> Path:
    """rigs/sim.toml at `profile`; `station_key`: the simulated station sends this key
    instead of the CSMS's ([simulator] authorization_key_hex)."""
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text, n = re.subn(r"(?m)^security_profile = \d+", f"security_profile = {profile}", text)
    assert n == 1
    station = [f'authorization_key_hex = "{KEY.hex()}"'] if profile in (1, 2) else []
    csms: list[str] = []
    simulator: list[str] = []
    if profile >= 2:
        assert pki is not None
        csms = [f"tls_cert = {str(pki['csms'])!r}", f"tls_key = {str(pki['csms_key'])!r}",
                f"tls_ca = {str(pki['ca'])!r}"]
    if profile == 3:
        simulator = [f"client_cert = {str(pki['station'])!r}",
                     f"client_key = {str(pki['station_key'])!r}"]
    if station_key is not None:
        simulator.append(f'authorization_key_hex = "{station_key.hex()}"')
    for table, lines in (("station", station), ("csms", csms), ("simulator", simulator)):
        head = f"\n[{table}]"
        assert head in text
        text = text.replace(head, head + "".join("\n" + line for line in lines), 1)
    rig = folder / f"rig-profile{profile}.toml"
    rig.write_text(text, "utf-8")
    return rig


def secrets_of(key: bytes) -> list[bytes]:
    """Every form the key could leak in: raw, hex (both cases), base64, the Basic token."""
    return [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key),
            base64.b64encode(STATION_ID.encode() + b":" + key)]


def assert_no_secret(run_dir: Path, *keys: bytes) -> None:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "events.jsonl" for p in files), files
    for path in files:
        data = path.read_bytes()
        for key in keys:
            for form in secrets_of(key):
                assert form not in data, f"AuthorizationKey found in {path}"


def handshakes(run_dir: Path) -> list[dict]:
    return [e for e in load_run(run_dir).events if e["kind"] == "handshake"]


def run_tc003(tmp_path: Path, rig: Path) -> BenchRunResult:
    return bench_run(tmp_path, "--plan", str(fast_plan(tmp_path)), "--cases", "TC_003_CS",
                     "--rig", str(rig), "--no-reports")


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def assert_passed_with_profile(res: BenchRunResult, profile: int) -> dict:
    assert res.rc == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert res.verdicts()["TC_003_CS"]["verdict"] == "PASS"
    hs = handshakes(res.run_dir)
    assert hs and all(e["name"] == "accepted" for e in hs), hs
    detail = hs[0]["detail"]
    assert detail["station"] == STATION_ID and detail["status"] == 101
    assert detail["security_profile"] == profile
    assert f"profile {profile}" in detail["reason"]
    scheme = "wss" if profile >= 2 else "ws"
    ready = next(e for e in load_run(res.run_dir).events if e["name"] == "sim-ready")
    assert ready["detail"]["endpoints"]["csms_url"].startswith(f"{scheme}://")
    assert_no_secret(res.run_dir, KEY)
    return detail


# -- end to end: bench run TC_003_CS per profile ------------------------------------------------

@pytest.mark.slow
def test_profile1_basic_auth_over_ws(tmp_path, real_parts) -> None:
    res = run_tc003(tmp_path, secure_rig(tmp_path, 1))
    detail = assert_passed_with_profile(res, 1)
    # the whitepaper's password: the key's bytes, checked by the CSMS
    assert detail["username"] == STATION_ID
    assert detail["password_checked"] is True and detail["password_form"] == "raw"


@pytest.mark.slow
def test_profile2_basic_auth_over_tls(tmp_path, pki, real_parts) -> None:
    res = run_tc003(tmp_path, secure_rig(tmp_path, 2, pki))
    detail = assert_passed_with_profile(res, 2)
    assert detail["password_checked"] is True and detail["password_form"] == "raw"


@pytest.mark.slow
def test_profile3_client_certificate(tmp_path, pki, real_parts) -> None:
    res = run_tc003(tmp_path, secure_rig(tmp_path, 3, pki))
    detail = assert_passed_with_profile(res, 3)
    assert detail["client_cert_cn"] == STATION_ID
    assert "username" not in detail  # profile 3 sends no Basic credentials


@pytest.mark.slow
def test_wrong_key_is_refused_and_never_recorded(tmp_path, pki, real_parts) -> None:
    res = run_tc003(tmp_path, secure_rig(tmp_path, 2, pki, station_key=WRONG_KEY))
    assert res.rc != 0
    assert res.verdicts()["TC_003_CS"]["verdict"] in ("BLOCKED", "ERROR")
    hs = handshakes(res.run_dir)
    assert hs and all(e["name"] == "refused" for e in hs), hs
    assert {e["detail"]["status"] for e in hs} == {401}
    assert "wrong password" in hs[0]["detail"]["reason"]
    events = load_run(res.run_dir).events
    assert any(e["name"] == "boot-failed" for e in events)
    sim_log = (res.run_dir / "sim.log").read_text("utf-8")
    assert "refused the connection" in sim_log and "HTTP 401" in sim_log, sim_log[-2000:]
    rig_snapshot = load_run(res.run_dir).snapshots["rig"]
    assert rig_snapshot["simulator"]["authorization_key"] == "<redacted>"
    assert_no_secret(res.run_dir, KEY, WRONG_KEY)


# -- in process: the websockets library's debug lines hide the Authorization header -------------

async def test_debug_log_of_the_handshake_hides_the_key(tmp_path, caplog) -> None:
    from sim.model import RigModel
    from sim.station import StationConfig, StationSimulator

    record = RunRecord.create(tmp_path / "runs", "security")
    settings = CsmsSettings(port=0, security_profile=1, stations={"CP1": KEY},
                            ping_interval_s=None)
    cfg = StationConfig.smartdc()
    cfg.security = StationSecurity(1, KEY)
    caplog.set_level(logging.DEBUG)
    async with Csms(settings, record) as csms:
        station = StationSimulator(cfg, RigModel(cfg.connectors), None, f"{csms.url}/CP1")
        task = asyncio.create_task(station.run())
        try:
            await csms.wait_for_station("CP1", timeout=10)
        finally:
            await station.power_off()
            await asyncio.wait_for(task, 5)
    record.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "sim.station.websocket"]
    assert any(line.startswith("> Authorization: <redacted>") for line in lines), lines
    served = [r.getMessage() for r in caplog.records if r.name == "bench.csms.websocket"]
    assert any(line.startswith("< Authorization: <redacted>") for line in served), served
    # both sides of the handshake, and anything else that logged meanwhile
    text = "\n".join(r.getMessage() for r in caplog.records).encode()
    for form in [*secrets_of(KEY), base64.b64encode(b"CP1:" + KEY)]:
        assert form not in text


# -- configuration mistakes fail early and say what is missing ---------------------------------

def test_station_security_checks(tmp_path, pki) -> None:
    with pytest.raises(ValueError, match="needs the AuthorizationKey"):
        StationSecurity(1)
    with pytest.raises(ValueError, match="16 to 20"):
        StationSecurity(2, b"short")
    with pytest.raises(ValueError, match="client certificate"):
        StationSecurity(3, csms_ca=pki["ca"])
    with pytest.raises(ValueError, match="wss://"):
        StationSecurity(2, KEY, pki["ca"]).check_url("ws://127.0.0.1:1/ocpp/CP1")
    sec = StationSecurity(2, KEY, pki["ca"])
    assert KEY.hex() not in repr(sec)
    token = sec.headers("wss://127.0.0.1:1/ocpp/CP%201")["Authorization"].split()[1]
    assert base64.b64decode(token) == b"CP 1:" + KEY
    assert StationSecurity(3, None, pki["ca"], pki["station"], pki["station_key"]).headers(
        "wss://h/ocpp/CP1") is None
    with pytest.raises(ValueError, match="no such file"):
        StationSecurity(2, KEY, tmp_path / "missing.pem")


def test_rig_file_names_the_missing_simulator_setting(tmp_path, pki) -> None:
    rig = secure_rig(tmp_path, 3, pki)
    text = rig.read_text("utf-8")
    rig.write_text(re.sub(r"(?m)^client_key = .*\n", "", text), "utf-8")
    with pytest.raises(RigError, match=r"\[simulator\] client_key: missing: security_profile 3"):
        load_rig(rig)
    rig = secure_rig(tmp_path, 2, pki)
    rig.write_text(re.sub(r"(?m)^tls_ca = .*\n", "", rig.read_text("utf-8")), "utf-8")
    with pytest.raises(RigError, match=r"\[simulator\] csms_ca: missing"):
        load_rig(rig)
    rig.write_text(rig.read_text("utf-8").replace(
        "\n[simulator]", f"\n[simulator]\ncsms_ca = {str(pki['ca'])!r}", 1), "utf-8")
    assert load_rig(rig).simulator.csms_ca == pki["ca"]
    bad = secure_rig(tmp_path, 1, station_key=WRONG_KEY)
    bad.write_text(bad.read_text("utf-8").replace(WRONG_KEY.hex(), "abcd"), "utf-8")
    with pytest.raises(RigError, match=r"\[simulator\] authorization_key_hex: \(value hidden"):
        load_rig(bad)

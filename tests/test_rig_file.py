"""Rig file loader: good files load, each kind of mistake names file, table and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config.rig import RigError, load_rig

ROOT = Path(__file__).resolve().parent.parent
KEY_HEX = "00112233445566778899AABBCCDDEEFF"

MINIMAL = """
[station]
id = "CP-1"
connectors = 2

[instruments.ev1]
driver = "modbus-ev"
host = "127.0.0.1"
port = 5020
device_id = 1
register_map = "bench-ev-v1"
connector = 1

[cards.valid]
uid = "04a1b2c3d4e5f6"
status = "Accepted"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("name", ["sim.toml", "lab-example.toml"])
def test_shipped_rigs_load(name: str) -> None:
    rig = load_rig(ROOT / "rigs" / name)
    assert rig.station.id
    assert rig.cards
    assert rig.instruments


def test_sim_rig_values() -> None:
    rig = load_rig(ROOT / "rigs" / "sim.toml")
    assert rig.station.connectors == 2
    assert rig.csms.host == "127.0.0.1" and rig.csms.port == 9000
    assert rig.instruments["ev1"].params["device_id"] == 1
    assert rig.instruments["meter"].params["dialect"] == "generic"
    assert rig.card("valid").uid == "04A1B2C3D4E5F6"
    assert rig.card_by_id_tag("04a1b2c3d4e5f6").tag == "valid"
    assert rig.card_by_id_tag("FFFF") is None
    with pytest.raises(KeyError, match="no card 'nope'"):
        rig.card("nope")


def test_minimal_rig_normalises_uid(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, MINIMAL))
    assert rig.card("valid").uid == "04A1B2C3D4E5F6"
    assert rig.simulator is None
    assert rig.station.security_profile == 0


def test_with_ports_points_every_instrument_at_the_sim_rig() -> None:
    rig = load_rig(ROOT / "rigs" / "sim.toml")
    endpoints = {
        "modbus": {"host": "127.0.0.1", "port": 40001},
        "scpi": {"host": "127.0.0.1", "port": 40002, "resource": "TCPIP::127.0.0.1::40002::SOCKET"},
        "vpcd": {"host": "127.0.0.1", "port": 40003},
        "pcscd_socket": "/tmp/x/pcscd.comm", "station_id": "SIM-7", "csms_url": "ws://x",
    }
    moved = rig.with_ports(endpoints)
    assert moved.instruments["ev1"].params["port"] == 40001
    assert moved.instruments["mains"].params["port"] == 40001
    assert moved.instruments["meter"].params["resource"].endswith("::40002::SOCKET")
    assert moved.instruments["card"].params["port"] == 40003
    assert moved.station.id == "SIM-7"
    assert moved.endpoints["pcscd_socket"] == "/tmp/x/pcscd.comm"
    assert rig.instruments["ev1"].params["port"] == 15020  # the original is untouched


def test_secret_never_in_repr_or_snapshot(tmp_path: Path) -> None:
    extra = f'\nsecurity_profile = 1\nauthorization_key_hex = "{KEY_HEX}"'
    text = MINIMAL.replace('connectors = 2', 'connectors = 2' + extra)
    rig = load_rig(write(tmp_path, text))
    assert rig.station.authorization_key == bytes.fromhex(KEY_HEX)
    for text_form in (repr(rig), str(rig.station), json.dumps(rig.redacted())):
        assert KEY_HEX not in text_form.upper()
        assert KEY_HEX.lower() not in text_form
    assert rig.redacted()["station"]["authorization_key"] == "<redacted>"


def test_bad_key_error_does_not_echo_the_secret(tmp_path: Path) -> None:
    bad = "ABCDEF0123456789ABCDEF01234567XYZ0"
    text = MINIMAL.replace('connectors = 2',
                           f'connectors = 2\nsecurity_profile = 1\nauthorization_key_hex = "{bad}"')
    with pytest.raises(RigError) as info:
        load_rig(write(tmp_path, text))
    assert bad not in str(info.value)
    assert "authorization_key_hex" in str(info.value)


MISTAKES = [
    # (replace this, with this, the message must contain all of these)
    ('id = "CP-1"', 'id = "CP-1"\nsecurity_profile = 5',
     ["[station] security_profile", "must be 0, 1, 2 or 3"]),
    ('id = "CP-1"', 'id = "CP-1"\nsecurity_profile = 2',
     ["[station] authorization_key_hex", "security_profile 2"]),
    ('id = "CP-1"', 'id = "CP-1"\nsecurity_profile = 1\nauthorization_key_hex = "ABCD"',
     ["[station] authorization_key_hex", "32 to 40 hex"]),
    ('id = "CP-1"', 'id = "CP-1"\nsecurity_profile = "1"',
     ["[station] security_profile", "must be int"]),
    ('id = "CP-1"', 'id = "CP/1"', ["[station] id", "'/'"]),
    ('id = "CP-1"', 'id = "CP-1"\ncolour = "red"',
     ["[station] colour", "unknown key", "allowed keys: id, security_profile"]),
    ('status = "Accepted"', 'status = "Ok"',
     ["[cards.valid] status", "Accepted, Invalid, Blocked, Expired"]),
    ('uid = "04a1b2c3d4e5f6"', 'uid = "04G1"', ["[cards.valid] uid", "must be hex"]),
    ('driver = "modbus-ev"', 'driver = "modbus-evx"',
     ["[instruments.ev1] driver = 'modbus-evx'", "unknown driver 'modbus-evx'",
      "known drivers: csms-side, manual-card, modbus-coil, modbus-ev, nft-drop"]),
    ('device_id = 1\n', '', ["[instruments.ev1] device_id", "missing (required)"]),
    ('port = 5020', 'port = "5020"', ["[instruments.ev1] port", "must be int"]),
    ('port = 5020', 'port = 70000', ["[instruments.ev1] port", "1 to 65535"]),
    ('connector = 1', 'connector = 3', ["[instruments.ev1] connector", "1 to 2"]),
    ('connector = 1', 'connector = 1\nbaud = 9600',
     ["[instruments.ev1] baud", "unknown key", "allowed keys: driver, host, port"]),
    ('register_map = "bench-ev-v1"', 'register_map = "nope-v9"',
     ["[instruments.ev1] register_map", "no such map"]),
    ('[station]', '[stations]\n[station]', ["[stations]", "unknown table", "allowed tables"]),
    ('[cards.valid]', '[csms]\nlisten = "localhost"\n\n[cards.valid]',
     ["[csms] listen", "HOST:PORT"]),
    ('[cards.valid]', '[csms]\nlisten = "127.0.0.1:99999"\n\n[cards.valid]',
     ["[csms] listen", "HOST:PORT"]),
    ('[cards.valid]', '[csms]\nresponse_timeout_s = -1\n\n[cards.valid]',
     ["[csms] response_timeout_s", "> 0"]),
    ('[cards.valid]', '[simulator]\nfaults = "late"\n\n[cards.valid]',
     ["[simulator] faults", "must be list"]),
    ('[cards.valid]', '[instruments.m]\ndriver = "scpi-meter"\nresource = "X"\nconnector = 1\n'
     'dialect = "fluke"\n\n[cards.valid]',
     ["[instruments.m] dialect = 'fluke'", "unknown SCPI dialect 'fluke'",
      "generic, hioki-pw, rs-hmc8015, yokogawa-wt, zes-lmg"]),
    ('[cards.valid]', '[instruments.r]\ndriver = "relay-card"\nhost = "h"\nport = 1\n'
     'device_id = 1\ncoils = { ghost = 1 }\n\n[cards.valid]',
     ["[instruments.r] coils.ghost", "not a card tag"]),
    ('[cards.valid]', '[cards.dup]\nuid = "04A1B2C3D4E5F6"\n\n[cards.valid]',
     ["[cards.valid] uid", "same UID as [cards.dup]"]),
]


@pytest.mark.parametrize(("old", "new", "expected"), MISTAKES)
def test_mistakes_name_the_key(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(RigError) as info:
        load_rig(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message, message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RigError, match="not valid TOML"):
        load_rig(write(tmp_path, "[station\n"))
    with pytest.raises(RigError, match="rig file not found"):
        load_rig(tmp_path / "absent.toml")


def test_tls_profile_needs_files(tmp_path: Path) -> None:
    text = MINIMAL.replace('id = "CP-1"', f'id = "CP-1"\nsecurity_profile = 2\n'
                           f'authorization_key_hex = "{KEY_HEX}"')
    with pytest.raises(RigError, match=r"\[csms\] tls_cert"):
        load_rig(write(tmp_path, text))
    (tmp_path / "c.pem").write_text("x")
    (tmp_path / "k.pem").write_text("x")
    rig = load_rig(write(tmp_path, text + '\n[csms]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n'))
    assert rig.csms.tls_cert == tmp_path / "c.pem"
    with pytest.raises(RigError, match=r"\[csms\] tls_ca.*file not found"):
        load_rig(write(tmp_path, text + '\n[csms]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n'
                       'tls_ca = "ca.pem"\n'))


def test_simulated_rig_makes_its_tls_pki_once(tmp_path: Path) -> None:
    """[simulator] tls_pki: the shipped profile-3 rig needs no certificate in the repository."""
    from cryptography import x509

    text = (ROOT / "rigs" / "sim-security-tls.toml").read_text("utf-8").replace(
        'station_config = "sim-security-station.toml"',
        f"station_config = {str(ROOT / 'rigs' / 'sim-security-station.toml')!r}")
    rig = load_rig(write(tmp_path, text))
    pki = tmp_path / "sim-tls-pki"
    assert rig.csms.tls_cert == pki / "csms.pem" and rig.simulator.client_key == pki / "station.key"
    station = x509.load_pem_x509_certificate((pki / "station.pem").read_bytes())
    assert station.subject.rfc4514_string().startswith("CN=SMARTDC-SIM-01,")
    assert oct((pki / "station.key").stat().st_mode & 0o777) == "0o600"
    made = (pki / "ca.pem").read_bytes()
    load_rig(write(tmp_path, text))
    assert (pki / "ca.pem").read_bytes() == made  # still valid: kept
    load_rig(write(tmp_path, text.replace('id = "SMARTDC-SIM-01"', 'id = "OTHER-01"')))
    station = x509.load_pem_x509_certificate((pki / "station.pem").read_bytes())
    assert station.subject.rfc4514_string().startswith("CN=OTHER-01,")  # another identity: new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rig.toml", "sim-tls-pki"]
    (tmp_path / "blocked").write_text("a file, not a folder")
    with pytest.raises(RigError, match=r"\[simulator\] tls_pki = 'blocked/pki': cannot make"):
        load_rig(write(tmp_path, text.replace('tls_pki = "sim-tls-pki"',
                                              'tls_pki = "blocked/pki"')))


# -- [bench], [hardware], [pics]: every key has a type and a meaning --------------------------

DECLARED_MISTAKES = [
    # (table text appended to MINIMAL, the message must contain all of these)
    ('[hardware]\nfixed_cable = "no"\n',
     ['[hardware] fixed_cable = \'no\'', "must be bool"]),
    ("[hardware]\nfixed_cabel = true\n",
     ["[hardware] fixed_cabel", "unknown key", "fixed_cable"]),
    ("[hardware]\nconnectors = 3\n",
     ["[hardware] connectors = 3", "must equal [station] connectors (2)"]),
    ("[hardware]\nrfid_readers = -1\n", ["[hardware] rfid_readers", ">= 0"]),
    ("[pics]\nheartbeat_interval = 30\n",
     ["[pics] heartbeat_interval", "unknown key", "heartbeat_interval_s"]),
    ('[pics]\nsends_milliseconds = "yes"\n', ["[pics] sends_milliseconds", "must be bool"]),
    ("[pics]\nheartbeat_interval_s = 2.5\n", ["[pics] heartbeat_interval_s", "must be int"]),
    ("[pics]\nheartbeat_interval_s = 0\n", ["[pics] heartbeat_interval_s", "> 0"]),
    ("[pics]\nocpp_response_timeout_s = true\n",
     ["[pics] ocpp_response_timeout_s", "must be number"]),
    ('[pics]\nfeature_profiles = ["Core", "Smart"]\n',
     ["[pics] feature_profiles", "a list of Core, FirmwareManagement"]),
    ("[pics]\nmessage_timeout_s = 5\n", ["[pics] message_timeout_s", "unknown key"]),
    ('[pics]\nfirmware_image = "no-such-image.fw"\n',
     ["[pics] firmware_image = 'no-such-image.fw'", "file not found"]),
    ('[bench]\nrun_dir = "x"\n', ["[bench] run_dir", "unknown key", "runs_dir"]),
]


@pytest.mark.parametrize(("table", "expected"), DECLARED_MISTAKES)
def test_declared_tables_are_strict(tmp_path: Path, table: str, expected: list[str]) -> None:
    path = write(tmp_path, MINIMAL + "\n" + table)
    with pytest.raises(RigError) as info:
        load_rig(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message, message


def test_declared_tables_fill_defaults_and_keep_values(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, MINIMAL + "\n[hardware]\nfixed_cable = false\n"
                         "[pics]\nsends_milliseconds = false\nenergy_tolerance_pct = 1\n"))
    assert rig.hardware["fixed_cable"] is False
    assert rig.hardware["connectors"] == 2  # from [station]
    assert rig.hardware["connector_lock"] is False and rig.hardware["rfid_readers"] == 1
    assert rig.pics == {"sends_milliseconds": False, "energy_tolerance_pct": 1}  # no defaults
    assert load_rig(write(tmp_path, MINIMAL)).hardware["fixed_cable"] is False


def test_firmware_image_is_found_near_the_rig_file(tmp_path: Path) -> None:
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "image.fw").write_bytes(b"x")
    rig = load_rig(write(tmp_path, MINIMAL + '\n[pics]\nfirmware_image = "fw/image.fw"\n'
                         'firmware_image_version = "v2"\n'))
    assert rig.pics["firmware_image"] == str(tmp_path / "fw" / "image.fw")
    assert rig.pics["firmware_image_version"] == "v2"


def test_every_declared_key_is_documented_and_listed() -> None:
    from bench.commands.check import main
    from bench.config.rig import DECLARED_TABLES, describe_keys

    doc = (ROOT / "docs" / "rig-file.md").read_text("utf-8")
    lines = describe_keys()
    for table, keys in DECLARED_TABLES.items():
        for key in keys:
            assert f"`{key}`" in doc, f"docs/rig-file.md does not explain [{table}] {key}"
            assert any(line.startswith(f"[{table}] {key} (") for line in lines)
    assert main(["--list-keys"]) == 0


def test_every_pics_key_is_used() -> None:
    """A PICS key nobody reads is a declaration the bench silently ignores."""
    from bench.config.rig import PICS_KEYS

    sources = [(ROOT / "testplans" / "limits.toml").read_text("utf-8")]
    for folder in ("testplans", "bench"):
        sources += [p.read_text("utf-8") for p in (ROOT / folder).rglob("*.py")
                    if p.name != "rig.py"]
    text = "\n".join(sources)
    unused = [k for k in PICS_KEYS if f'"{k}"' not in text and f" {k} " not in text
              and f'"{k} ' not in text]
    assert not unused, f"[pics] keys no limit, case or bench code reads: {unused}"


# -- cards: UID (what a reader sees) and idTag (what the station sends) ----------------------

def test_id_tag_defaults_to_the_uid_and_may_differ(tmp_path: Path) -> None:
    text = MINIMAL + ('\n[cards.tagged]\nuid = "04aabbccddeeff"\nid_tag = "BB2TBR09"\n'
                      '\n[cards.remote]\nid_tag = "REMOTE-1"\nparent = "valid"\n')
    rig = load_rig(write(tmp_path, text))
    assert rig.card("valid").id_tag == "04A1B2C3D4E5F6"  # the UID's hex, as before
    tagged = rig.card("tagged")
    assert (tagged.uid, tagged.id_tag) == ("04AABBCCDDEEFF", "BB2TBR09")
    assert rig.card_by_id_tag("bb2tbr09") is tagged  # CiString: compared without case
    assert rig.card_by_uid("04aabbccddeeff") is tagged
    remote = rig.card("remote")
    assert remote.uid is None and not remote.presentable
    with pytest.raises(ValueError, match="no uid: it can be used by remote starts but not"):
        _ = remote.uid_bytes
    from bench.csms.settings import settings_from_rig

    cards = settings_from_rig(rig).cards  # the CSMS answers by idTag
    assert cards["BB2TBR09"].status == "Accepted" and "04AABBCCDDEEFF" not in cards
    assert cards["REMOTE-1"].parent_id_tag == "04A1B2C3D4E5F6"  # parent named by its tag


CARD_MISTAKES = [
    ('\n[cards.x]\nstatus = "Accepted"\n', ["[cards.x]", "needs uid", "or id_tag"]),
    ('\n[cards.x]\nid_tag = "THIS-IDTAG-IS-TOO-LONG"\n',
     ["[cards.x] id_tag", "1 to 20 printable characters", "CiString20"]),
    ('\n[cards.x]\nid_tag = "04A1B2C3D4E5F6"\n',
     ["[cards.x] id_tag", "same idTag as [cards.valid]"]),
    ('\n[cards.x]\nuid = "0A0B"\nid_tag = "04a1b2c3d4e5f6"\n',
     ["[cards.x] id_tag", "same idTag as [cards.valid]"]),
    ('\n[cards.x]\nid_tag = "TAB\\tTAG"\n', ["[cards.x] id_tag", "printable"]),
    ('\n[cards.x]\nid_tag = "R1"\n\n[instruments.relays]\ndriver = "relay-card"\nhost = "h"\n'
     'port = 1\ndevice_id = 1\ncoils = { x = 1 }\n',
     ["[instruments.relays] coils.x", "[cards.x] has no uid", "remote starts only"]),
]


@pytest.mark.parametrize(("extra", "expected"), CARD_MISTAKES)
def test_card_mistakes_name_the_key(tmp_path: Path, extra: str, expected: list[str]) -> None:
    with pytest.raises(RigError) as info:
        load_rig(write(tmp_path, MINIMAL + extra))
    for part in expected:
        assert part in str(info.value), str(info.value)

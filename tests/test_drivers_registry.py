"""The driver registry: the bench's own drivers come from its entry points like a lab's would;
a broken or ambiguous entry point spoils only its own name, and says which distribution and
which entry point; the rig loader, the bench's slots and the README read the registry."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import pytest
from lab_driver_support import LAB_DISTRIBUTION, write_distribution, write_lab_package

from bench.commands.check import describe_registry
from bench.config.rig import RigError, load_rig
from bench.lock import rig_resources
from bench.verbs import _SLOTS, Bench
from instruments import registry as registry_module
from instruments.interfaces import CardPresenter, EvEmulator, MainsSwitch, NetworkCut, PowerMeter
from instruments.registry import DRIVER_GROUP, RegistryError, load, registry
from instruments.roles import ROLES

ROOT = Path(__file__).resolve().parent.parent
OWN = md.distribution("ocpp-hil-bench")
DRIVERS = {"modbus-ev", "scpi-meter", "vpcd-card", "relay-card", "manual-card", "pcsc-reader",
           "modbus-coil", "scpi-source", "csms-side", "nft-drop"}
DIALECTS = {"generic", "yokogawa-wt", "rs-hmc8015", "hioki-pw", "zes-lmg"}


def test_the_bench_registers_its_own_drivers_through_its_entry_points() -> None:
    reg = registry()
    assert set(reg.drivers) == DRIVERS and set(reg.dialects) == DIALECTS
    assert not reg.problems
    origin = reg.origin(DRIVER_GROUP, "modbus-ev")
    assert origin is not None and origin.distribution == "ocpp-hil-bench"
    assert origin.entry_point == "modbus-ev = instruments.modbus_ev:REGISTRATION"
    assert set(_SLOTS) == set(ROLES)  # every role has its slot in the bench


def test_readme_lists_the_registered_drivers_and_dialects() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text[text.index("### Drivers"):]
    section = section[:section.index("\n## ")]
    drivers = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M))
    assert drivers == set(registry().drivers)
    dialects = re.search(r"dialects?: (.*)$", section, re.M | re.I)
    assert dialects is not None
    assert set(re.findall(r"`([a-z0-9-]+)`", dialects.group(1))) == set(registry().dialects)


def test_slots_are_typed_by_the_role_protocol() -> None:
    bench = Bench.from_rig(load_rig(ROOT / "rigs" / "lab-example.toml"), record=None)
    assert sorted(bench.evs) == [1, 2] and all(isinstance(e, EvEmulator)
                                               for e in bench.evs.values())
    assert isinstance(bench.meters[1], PowerMeter)
    assert isinstance(bench.card_presenter, CardPresenter)
    assert isinstance(bench.mains, MainsSwitch) and isinstance(bench.network, NetworkCut)
    assert bench.lacks("reader") is None and bench.lacks("ev") is None
    assert [p.name for p in bench.placed] == list(bench.rig.instruments)
    # the lock resources are what each registration names
    assert rig_resources(bench.rig) == [
        "pcsc:ACR1252", "station:SMARTDC-LAB-01", "tcp:192.168.10.21:502",
        "tcp:192.168.10.22:502", "tcp:192.168.10.40:502",
        "visa:TCPIP0::192.168.10.30::inst0::INSTR"]


def test_a_rig_without_an_ev_emulator_says_what_it_lacks(tmp_path: Path) -> None:
    text = (ROOT / "rigs" / "sim.toml").read_text("utf-8")
    text = re.sub(r"\[instruments\.ev1\].*?(?=\[instruments\.meter\])", "", text, flags=re.S)
    (tmp_path / "rig.toml").write_text(text, "utf-8")
    bench = Bench.from_rig(load_rig(tmp_path / "rig.toml"), record=None)
    assert bench.evs == {}
    assert bench.lacks("ev") == f"the rig has no EV emulator ({tmp_path / 'rig.toml'} " \
                                "[instruments])"


def _reg_with(site: Path, monkeypatch: pytest.MonkeyPatch, *extra: md.Distribution):
    monkeypatch.syspath_prepend(str(site))
    return load([OWN, *md.distributions(path=[str(site)]), *extra])


BROKEN = {
    "missing_module": ("lab-gone = no_such_module_x:REG", "cannot be loaded: "
                       "ModuleNotFoundError: No module named 'no_such_module_x'"),
    "wrong_object": ("lab-str = labbroken:NOT_A_REGISTRATION",
                     "names a str, not an instruments.registration.DriverRegistration"),
    "wrong_name": ("lab-named = labbroken:NAMED_OTHER",
                   "the registration calls itself 'lab-other', the entry point 'lab-named'"),
    "wrong_role": ("lab-role = labbroken:BAD_ROLE", "role 'kettle' is not one of ev, card"),
    "wrong_protocol": ("lab-proto = labbroken:BAD_PROTOCOL",
                       "provides CardPresenter, but role 'ev' needs EvEmulator"),
    "no_connector_key": ("lab-noconn = labbroken:NO_CONNECTOR",
                         "is bound to a connector but has no required key 'connector'"),
}
BROKEN_MODULE = '''
from instruments.interfaces import CardPresenter, EvEmulator
from instruments.registration import CONNECTOR_KEY, DriverRegistration

def _build(ctx):
    raise AssertionError("never built")

def _reg(name, role="ev", provides=EvEmulator, keys=None):
    return DriverRegistration(name=name, role=role, provides=provides, binding="connector",
                              keys={"connector": CONNECTOR_KEY} if keys is None else keys,
                              build=_build)

NOT_A_REGISTRATION = "lab-str"
NAMED_OTHER = _reg("lab-other")
BAD_ROLE = _reg("lab-role", role="kettle")
BAD_PROTOCOL = _reg("lab-proto", provides=CardPresenter)
NO_CONNECTOR = _reg("lab-noconn", keys={})
'''


def test_a_broken_entry_point_spoils_only_its_name_and_says_where_it_comes_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_distribution(site, "lab-broken", {"labbroken": BROKEN_MODULE}, {
        "bench.drivers": dict(ep.split(" = ") for ep, _ in BROKEN.values())})
    reg = _reg_with(site, monkeypatch)
    assert set(reg.drivers) == DRIVERS  # the bench's own are all there
    for target, text in BROKEN.values():
        name = target.split(" = ")[0]
        with pytest.raises(RegistryError) as info:
            reg.driver(name)
        message = str(info.value)
        assert f"driver {name!r} of distribution lab-broken 0.1 (entry point " \
               f"[bench.drivers] {target})" in message, message
        assert text in message, message
    listing = "\n".join(describe_registry(reg))
    assert "UNUSABLE driver 'lab-gone' of distribution lab-broken 0.1" in listing
    assert "modbus-ev: ev (EvEmulator, one per connector)" in listing


def test_a_rig_using_a_broken_driver_is_a_rig_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_distribution(site, "lab-broken", {"labbroken": BROKEN_MODULE},
                       {"bench.drivers": {"lab-gone": "no_such_module_x:REG"}})
    monkeypatch.setattr("bench.config.rig.registry", lambda: _reg_with(site, monkeypatch))
    rig = tmp_path / "rig.toml"
    rig.write_text('[station]\nid = "CP-1"\n\n[instruments.ev1]\ndriver = "lab-gone"\n', "utf-8")
    with pytest.raises(RigError) as info:
        load_rig(rig)
    assert str(info.value).startswith(f"{rig}: [instruments.ev1] driver = 'lab-gone': driver "
                                      "'lab-gone' of distribution lab-broken 0.1")
    assert "No module named 'no_such_module_x'" in str(info.value)


def test_a_name_two_distributions_claim_is_usable_by_neither(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_distribution(site, "lab-shadow", {"labshadow": "X = None\n"},
                       {"bench.drivers": {"modbus-ev": "labshadow:X"}})
    reg = _reg_with(site, monkeypatch)
    with pytest.raises(RegistryError, match=r"'modbus-ev' of distribution ocpp-hil-bench .* and "
                       r"distribution lab-shadow 0\.1 .*: registered by more than one"):
        reg.driver("modbus-ev")
    assert reg.driver("scpi-meter").name == "scpi-meter"


def test_a_lab_package_registers_a_driver_and_a_dialect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_lab_package(site)
    reg = _reg_with(site, monkeypatch)
    assert reg.driver("lab-ev").role == "ev"
    assert reg.dialect("lab-scpi").name == "lab-scpi"
    assert str(reg.origin(DRIVER_GROUP, "lab-ev")).startswith(
        f"distribution {LAB_DISTRIBUTION} 0.1 (entry point [bench.drivers] lab-ev = ")


def test_a_driver_that_builds_less_than_its_protocol_is_refused_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_distribution(site, "lab-half", {"labhalf": '''
from instruments.base import Driver
from instruments.interfaces import MainsSwitch
from instruments.registration import DriverRegistration

class HalfMains(Driver):
    driver = "lab-half"
    async def on(self): ...

HALF = DriverRegistration(name="lab-half", role="mains", provides=MainsSwitch, keys={},
                          build=lambda ctx: HalfMains(ctx.name, "nowhere"))
'''}, {"bench.drivers": {"lab-half": "labhalf:HALF"}})
    reg = _reg_with(site, monkeypatch)
    monkeypatch.setattr(registry_module, "registry", lambda: reg)
    monkeypatch.setattr("bench.config.rig.registry", lambda: reg)
    monkeypatch.setattr("bench.verbs.registry", lambda: reg)
    rig = tmp_path / "rig.toml"
    rig.write_text('[station]\nid = "CP-1"\n\n[instruments.mains]\ndriver = "lab-half"\n',
                   "utf-8")
    with pytest.raises(RegistryError, match=r"\[instruments\.mains\] driver 'lab-half' of "
                       r"distribution lab-half 0\.1 .*: built a HalfMains without off, state of "
                       "MainsSwitch"):
        Bench.from_rig(load_rig(rig), record=None)


def test_one_instrument_per_slot(tmp_path: Path) -> None:
    text = (ROOT / "rigs" / "sim.toml").read_text("utf-8").replace(
        "device_id = 2\nregister_map = \"bench-ev-v1\"\nconnector = 2",
        "device_id = 2\nregister_map = \"bench-ev-v1\"\nconnector = 1")
    (tmp_path / "rig.toml").write_text(text, "utf-8")
    with pytest.raises(RigError, match=r"\[instruments\.ev2\] driver = 'modbus-ev': connector 1 "
                       r"already has one EV emulator, \[instruments\.ev1\] \(the bench drives "
                       r"one per connector\)"):
        load_rig(tmp_path / "rig.toml")

"""The physical model: CP classification, when current flows, exact energy, listeners."""

from __future__ import annotations

import pytest

from sim.model import ModelChange, RigModel


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rig():
    clock = Clock()
    return RigModel(connectors=2, clock=clock), clock


def ready_to_charge(model: RigModel, n: int = 1) -> None:
    c = model.connector(n)
    c.plugged, c.cp_request, c.allow_power = True, "C", True
    c.requested_current_a, c.target_voltage_v = 100.0, 400.0
    c.pwm_duty_pct, c.offered_current_a, c.contactor_closed = 5.0, 50.0, True


def test_cp_states_follow_iec_61851(rig):
    model, _ = rig
    c = model.connector(1)
    assert (c.cp_state, c.cp_voltage_pos_v) == ("A1", 12.0)
    c.cp_request = "C"
    assert c.cp_state == "A1", "unplugged: the EV's resistance is not on the CP"
    c.plugged = True
    assert (c.cp_state, c.cp_voltage_pos_v, c.cp_voltage_neg_v) == ("C1", 6.0, 6.0)
    c.pwm_duty_pct = 5.0
    assert (c.cp_state, c.cp_voltage_neg_v) == ("C2", -12.0)
    c.cp_request = "B"
    assert c.cp_state == "B2"
    c.cp_request = "D"
    assert (c.cp_state, c.cp_voltage_pos_v) == ("D2", 3.0)
    c.diode_fault = True
    assert c.cp_state == "invalid"
    c.force_e = True
    assert (c.cp_state, c.cp_voltage_pos_v) == ("E", 0.0)
    c.force_e = False
    c.fault = "GroundFailure"
    assert (c.cp_state, c.cp_voltage_pos_v) == ("F", -12.0)
    with pytest.raises(ValueError, match="cp_request 'X'"):
        c.cp_request = "X"


def test_current_flows_only_when_every_condition_holds(rig):
    model, _ = rig
    ready_to_charge(model)
    c = model.connector(1)
    assert (c.current_a, c.voltage_v, c.power_w) == (50.0, 400.0, 20000.0), "min(req, offered)"
    for name, blocking in (("contactor_closed", False), ("allow_power", False),
                           ("pause", True), ("stop_request", True), ("diode_fault", True),
                           ("force_e", True), ("fault", "OtherError"), ("cp_request", "B"),
                           ("plugged", False)):
        good = getattr(c, name)
        setattr(c, name, blocking)
        assert (c.current_a, c.voltage_v) == (0.0, 0.0), f"{name}={blocking!r} must stop current"
        setattr(c, name, good)
        assert c.current_a == 50.0, f"{name} back to {good!r} must restore current"
    model.mains_on = False
    assert (c.current_a, c.contactor_closed, c.cp_state) == (0.0, False, "E")
    assert model.connector(2).current_a == 0.0


def test_energy_is_exact_across_changes_and_ticks(rig):
    model, clock = rig
    ready_to_charge(model)  # 20 kW
    c = model.connector(1)
    clock.t = 90.0
    assert c.energy_wh == pytest.approx(500.0), "reading integrates up to the read"
    clock.t = 180.0
    c.offered_current_a = 100.0  # 40 kW from here: the old power counts up to now
    clock.t = 270.0
    model.tick()
    assert c.energy_wh == pytest.approx(1000.0 + 1000.0)
    c.pause = True
    clock.t = 1000.0
    assert c.energy_wh == pytest.approx(2000.0)
    model.tick(dt=3600.0)  # manual time step
    assert c.energy_wh == pytest.approx(2000.0)


def test_listeners_hear_inputs_and_derived_changes_but_not_energy(rig):
    model, clock = rig
    heard: list[ModelChange] = []
    model.add_listener(heard.append)
    c = model.connector(2)
    c.plugged = True
    assert heard[-1].connector == 2 and {"plugged"} <= heard[-1].fields
    c.plugged = True
    assert len(heard) == 1, "setting the same value is not a change"
    ready_to_charge(model, 2)
    assert any("current_a" in h.fields for h in heard)
    n = len(heard)
    clock.t += 10
    model.tick()
    assert len(heard) == n
    model.mains_on = False
    assert heard[n].connector == 0 and "mains_on" in heard[n].fields
    model.remove_listener(heard.append)
    before = len(heard)
    model.mains_on = True
    assert len(heard) == before, "a removed listener hears nothing"


async def test_wait_for_says_what_it_waited_for(rig):
    model, _ = rig
    with pytest.raises(TimeoutError, match=r"waited 0\.1 s for the plug.*plugged=False"):
        await model.wait_for(lambda: model.connector(1).plugged, 0.1, "the plug")
    model.connector(1).plugged = True
    await model.wait_for(lambda: model.connector(1).plugged, 0.1, "the plug")

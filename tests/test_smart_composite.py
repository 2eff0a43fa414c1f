"""The bench's composite-schedule calculator against hand-worked examples (OCPP 1.6 §3.13)."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.smartcharging import ChargingProfile, ProfileError, compare_composite, composite_schedule

T0 = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def profile(pid: int, purpose: str, stack: int, periods: list[tuple[int, float]], *,
            connector: int = 1, kind: str = "Absolute", start: dt.datetime | None = T0,
            duration: int | None = None, unit: str = "A", **extra) -> ChargingProfile:
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}
    if start is not None:
        schedule["startSchedule"] = iso(start)
    if duration is not None:
        schedule["duration"] = duration
    cs = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
          "chargingProfileKind": kind, "chargingSchedule": schedule, **extra}
    return ChargingProfile.from_ocpp(cs, connector, installed_at=T0)


def steps(c) -> list[tuple[float, float | None]]:
    return [(s.start_s, s.limit) for s in c.steps]


def test_tc_072_higher_stack_wins_while_it_is_valid():
    # OCTT TC_072: TxDefault stack 0 6/8/10 A at 0/100/200 s for 400 s; stack 1 for 150 s
    base = profile(1, "TxDefaultProfile", 0, [(0, 6), (100, 8), (200, 10)], duration=400)
    top = profile(2, "TxDefaultProfile", 1, [(0, 5)], duration=150)
    c = composite_schedule([base, top], 1, T0, 400)
    assert steps(c) == [(0, 5), (150, 8), (200, 10)]


def test_tc_066_three_profiles_capped_by_charge_point_max():
    cp_max = profile(1, "ChargePointMaxProfile", 0, [(0, 10)], connector=0, duration=86400)
    base = profile(2, "TxDefaultProfile", 0, [(0, 6), (80, 12), (160, 8), (240, 9), (320, 5)],
                   duration=400)
    top = profile(3, "TxDefaultProfile", 1, [(0, 7)], duration=100)
    c = composite_schedule([cp_max, base, top], 1, T0, 400)
    # 0-100 stack 1 (7); 100-160 12 capped to 10; then 8, 9, 5
    assert steps(c) == [(0, 7), (100, 10), (160, 8), (240, 9), (320, 5)]


def test_composite_starts_where_it_is_asked_for():
    base = profile(1, "TxDefaultProfile", 0, [(0, 6), (100, 8)], duration=400)
    c = composite_schedule([base], 1, T0 + dt.timedelta(seconds=30), 100)
    assert steps(c) == [(0, 6), (70, 8)]


def test_tx_profile_overrules_default_only_for_its_transaction():
    default = profile(1, "TxDefaultProfile", 0, [(0, 16)], connector=0)
    tx = profile(2, "TxProfile", 0, [(0, 10)], duration=60, transactionId=7)
    assert steps(composite_schedule([default, tx], 1, T0, 120, transaction_id=7)) == [
        (0, 10), (60, 16)]
    assert steps(composite_schedule([default, tx], 1, T0, 120, transaction_id=8)) == [(0, 16)]
    assert steps(composite_schedule([default, tx], 1, T0, 120)) == [(0, 16)]


def test_charge_point_max_caps_a_higher_tx_limit():
    cp_max = profile(1, "ChargePointMaxProfile", 0, [(0, 20)], connector=0)
    tx = profile(2, "TxProfile", 0, [(0, 32), (30, 12)], transactionId=1)
    c = composite_schedule([cp_max, tx], 1, T0, 60, transaction_id=1)
    assert steps(c) == [(0, 20), (30, 12)]


def test_connector_default_beats_connector_zero_at_the_same_stack_level():
    everywhere = profile(1, "TxDefaultProfile", 0, [(0, 16)], connector=0)
    here = profile(2, "TxDefaultProfile", 0, [(0, 12)], connector=1)
    assert steps(composite_schedule([everywhere, here], 1, T0, 60)) == [(0, 12)]
    assert steps(composite_schedule([everywhere, here], 2, T0, 60)) == [(0, 16)]


def test_valid_from_and_valid_to_bound_a_profile():
    top = profile(2, "TxDefaultProfile", 1, [(0, 8)],
                  validFrom=iso(T0 + dt.timedelta(seconds=20)),
                  validTo=iso(T0 + dt.timedelta(seconds=50)))
    base = profile(1, "TxDefaultProfile", 0, [(0, 16)])
    assert steps(composite_schedule([base, top], 1, T0, 100)) == [(0, 16), (20, 8), (50, 16)]


def test_relative_profile_starts_with_the_transaction():
    rel = profile(1, "TxProfile", 0, [(0, 10), (60, 20)], kind="Relative", start=None,
                  transactionId=3)
    c = composite_schedule([rel], 1, T0, 120, transaction_id=3,
                           transaction_start=T0 - dt.timedelta(seconds=30))
    assert steps(c) == [(0, 10), (30, 20)]


def test_daily_recurring_profile_repeats():
    day = T0 - dt.timedelta(days=3, seconds=100)  # began 3 days ago, 100 s before T0's time
    rec = profile(1, "TxDefaultProfile", 0, [(0, 6), (200, 12)], kind="Recurring", start=day,
                  recurrencyKind="Daily")
    assert steps(composite_schedule([rec], 1, T0, 300)) == [(0, 6), (100, 12)]


def test_watt_limits_converted_through_the_dc_voltage():
    cp_max = profile(1, "ChargePointMaxProfile", 0, [(0, 8000)], connector=0, unit="W")
    tx = profile(2, "TxDefaultProfile", 0, [(0, 16)])
    c = composite_schedule([cp_max, tx], 1, T0, 60, "A", volts=800)
    assert steps(c) == [(0, 10)]
    with pytest.raises(ValueError, match="needs the output voltage"):
        composite_schedule([cp_max, tx], 1, T0, 60, "A")


def test_stretch_without_profile_has_no_expected_limit():
    short = profile(1, "TxDefaultProfile", 0, [(0, 6)], duration=50)
    assert steps(composite_schedule([short], 1, T0, 100)) == [(0, 6), (50, None)]


def test_unreadable_profile_names_the_field():
    with pytest.raises(ProfileError, match="chargingProfileKind 'Sometimes'"):
        profile(1, "TxDefaultProfile", 0, [(0, 6)], kind="Sometimes")
    with pytest.raises(ProfileError, match="recurrencyKind"):
        profile(1, "TxDefaultProfile", 0, [(0, 6)], kind="Recurring")


def answer(periods, unit="A"):
    return {"chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}


def test_comparison_accepts_split_periods_and_rounding():
    base = profile(1, "TxDefaultProfile", 0, [(0, 6), (100, 8), (200, 10)], duration=400)
    top = profile(2, "TxDefaultProfile", 1, [(0, 5)], duration=150)
    c = composite_schedule([base, top], 1, T0, 400)
    assert compare_composite(c, answer([(0, 5), (80, 5), (151, 8), (200, 10)]), 1.0).ok


def test_comparison_catches_ignored_stack_levels():
    base = profile(1, "TxDefaultProfile", 0, [(0, 6), (100, 8), (200, 10)], duration=400)
    top = profile(2, "TxDefaultProfile", 1, [(0, 5)], duration=150)
    c = composite_schedule([base, top], 1, T0, 400)
    result = compare_composite(c, answer([(0, 6), (100, 8), (200, 10)]), 1.0)
    assert not result.ok
    assert result.mismatches[0] == "at 0 s limit 6 A, expected 5"
    wrong_unit = compare_composite(c, answer([(0, 5)], unit="W"), 1.0)
    assert wrong_unit.mismatches == ["chargingRateUnit 'W', expected 'A'"]


def test_output_excess_over_a_limit_in_amperes_and_watts():
    from testplans.smart_charging import Output

    reading = Output(current_a=20.0, power_w=16000.0, source="meter")  # 800 V
    assert reading.excess_a(16.0, "A", 400.0) == pytest.approx(4.0)
    assert reading.excess_a(12800.0, "W", 400.0) == pytest.approx(4.0)  # through the 800 V
    idle = Output(current_a=0.0, power_w=0.0, source="meter")
    assert idle.excess_a(12800.0, "W", 400.0) == pytest.approx(-32.0)  # the nominal voltage

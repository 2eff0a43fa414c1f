"""The energy comparison of every transaction (bench/plugin/energy.py): what it reads from the
station's frames and how it judges one transaction against the reference meter. The whole
path (real meter twin over pyvisa-py, the station's frames, the case's verdict) runs in
tests/test_faults_station.py: energy_register_high FAILs TC_070, the conformant one passes."""

from __future__ import annotations

import math

import pytest

from bench.plugin.energy import METER_START_STEP_WH, Comparison, register_values


def test_register_values_from_meter_values() -> None:
    entries = [
        {"timestamp": "t1", "sampledValue": [
            {"value": "12.5", "measurand": "Voltage"},
            {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]},
        {"timestamp": "t2", "sampledValue": [{"value": "1.2346", "unit": "kWh",  # default
                                              "context": "Transaction.End"}]},
        {"timestamp": "t3", "sampledValue": [
            {"value": "7", "measurand": "Energy.Active.Import.Register", "phase": "L1"}]},
        {"timestamp": "t4", "sampledValue": [{"value": "not a number"}]},
    ]
    got = register_values(entries)
    assert [v for v, _, _ in got] == [1234.5, pytest.approx(1234.6)]
    assert [r for _, r, _ in got] == [pytest.approx(0.1), pytest.approx(0.1)]  # decimals
    # the context tells a StopTransaction's own final value from the repeated earlier ones
    assert [c for _, _, c in got] == ["Sample.Periodic", "Transaction.End"]


def test_a_transaction_too_small_to_compare_is_not_judged_and_says_why() -> None:
    c = Comparison(7).judge(1.0, 0.95, METER_START_STEP_WH, 0.001, 160e3, 0.0, 0.002, 10.0,
                            "meterStart/meterStop step")
    assert not c.judged and math.isnan(c.deviation_pct)
    assert "0.95 Wh, below energy_min_wh = 10 Wh" in c.reason


def test_the_limit_carries_the_comparisons_own_uncertainty() -> None:
    # 16 Wh at 160 kW, the stop read 3 ms after the StopTransaction: a station below the
    # reference may be explained by energy the late read counted after its value
    c = Comparison(3).judge(15.2, 16.0, METER_START_STEP_WH, 0.001, 160e3, 0.0, 0.003, 10.0,
                            "meterStart/meterStop step")
    assert c.judged and c.deviation_pct == pytest.approx(5.0)
    align_wh = 160e3 * 0.003 / 3600
    assert c.uncertainty_pct == pytest.approx((1.0 + 0.001 + align_wh) / 16.0 * 100)
    assert "meterStart/meterStop step 1 Wh" in c.explain and "160.0 kW x 3.0 ms" in c.explain


def test_a_late_read_never_excuses_a_station_that_counts_more() -> None:
    """A read comes after its frame: it can only add energy to the reference at the end, or
    miss some at the start. A station above a reference read late at the stop (a loaded
    bench, 300 ms) is above it by at least that much: the stop's delay does not widen it."""
    above = Comparison(4).judge(16.8, 16.0, METER_START_STEP_WH, 0.001, 160e3, 0.0, 0.3, 10.0,
                                "meterStart/meterStop step")
    assert above.uncertainty_pct == pytest.approx((1.0 + 0.001) / 16.0 * 100)
    assert "0.0 ms, the start read's delay" in above.explain
    # register steps: a late first read may leave out energy the station counted
    late_first = Comparison(5).judge(16.8, 16.0, 0.1, 0.001, 160e3, 0.3, 0.002, 10.0,
                                     "register step")
    assert late_first.uncertainty_pct == pytest.approx(
        (0.1 + 0.001 + 160e3 * 0.3 / 3600) / 16.0 * 100)

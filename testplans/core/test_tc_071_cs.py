"""TC_071_CS Clock-aligned Meter Values (docs/catalogue.md; OCTT p36).

MeterValueSampleInterval=0, ClockAlignedDataInterval=A; GetConfiguration(MeterValuesAlignedData);
Charging; MeterValues every A s, watched for at least 3·A: context Sample.Clock, timestamps on
wall-clock multiples of A (A=20 s: :00, :20, :40), every configured measurand present.
The alignment offsets and the intervals are measured series with limits.
"""

import pytest

from testplans.meter_values import (
    check_measurands,
    configured_measurands,
    sampled_values,
    transaction_meter_values,
)
from testplans.ocpp import measure_periods, station_time
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_071_CS", "Clock-aligned Meter Values", requires=("instrument:ev", "instrument:card"),
    config={"MeterValueSampleInterval": "0",
            "ClockAlignedDataInterval": "{clock_aligned_data_interval_s}"},
    measures=("meter_values.clock_alignment_offset", "meter_values.clock_aligned_interval",
              "meter_values.clock_aligned_interval_error"),
)

SAMPLES = 4  # 3 intervals: OCTT watches at least 3 x the interval


async def test_tc_071_cs(case):
    interval = float(case.setting("clock_aligned_data_interval_s"))
    wanted = await configured_measurands(case, "MeterValuesAlignedData")
    session = await charging(case)

    with case.step(f"{SAMPLES} clock-aligned MeterValues, one every {interval:g} s"):
        offsets: list[float] = []
        samples = await transaction_meter_values(
            case, session, SAMPLES, interval,
            lambda mv: offsets.append(check_aligned(case, mv, wanted, interval)))
    case.measure("meter_values.clock_alignment_offset", series=offsets,
                 evidence=[m.seq for m in samples])
    measure_periods(case, "meter_values.clock_aligned_interval", samples, interval)


def check_aligned(case, mv, wanted, interval):
    """Checks one Sample.Clock MeterValues; returns its timestamp's distance to the boundary."""
    entries = mv.payload.get("meterValue", [])
    values = sampled_values(mv)
    contexts = {sv.get("context", "Sample.Periodic") for sv in values}
    case.check(contexts == {"Sample.Clock"}, "every value with context Sample.Clock",
               f"sent contexts {sorted(contexts)} (seq {mv.seq})")
    check_measurands(case, mv, values, wanted)
    stamp = station_time(entries[0].get("timestamp", "")) if entries else None
    case.check(stamp is not None, "a readable meterValue timestamp",
               f"sent {entries[0].get('timestamp') if entries else 'no meterValue'}")
    seconds = stamp.timestamp() % interval
    return min(seconds, interval - seconds)

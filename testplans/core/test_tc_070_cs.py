"""TC_070_CS Sampled Meter Values (docs/catalogue.md; OCTT p34).

MeterValueSampleInterval=S, ClockAlignedDataInterval=0; GetConfiguration(MeterValuesSampledData);
Charging; MeterValues every S s, watched for at least 3·S: context Sample.Periodic, every
configured measurand present (empty list means Energy.Active.Import.Register), location EV
only for SoC, format Raw or SignedData. The intervals are a measured series with limits.
"""

import pytest

from testplans.meter_values import (
    DEFAULT_MEASURAND,
    check_measurands,
    configured_measurands,
    sampled_values,
    transaction_meter_values,
)
from testplans.ocpp import measure_periods
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_070_CS", "Sampled Meter Values", requires=("instrument:ev", "instrument:card"),
    config={"MeterValueSampleInterval": "{meter_value_sample_interval_s}",
            "ClockAlignedDataInterval": "0"},
    measures=("meter_values.sample_interval", "meter_values.sample_interval_error"),
)

SAMPLES = 4  # 3 intervals: OCTT watches at least 3 x the interval


async def test_tc_070_cs(case):
    interval = float(case.setting("meter_value_sample_interval_s"))
    wanted = await configured_measurands(case, "MeterValuesSampledData")
    session = await charging(case)

    with case.step(f"{SAMPLES} sampled MeterValues, one every {interval:g} s"):
        samples = await transaction_meter_values(case, session, SAMPLES, interval,
                                                 lambda mv: check_sampled(case, mv, wanted))
    measure_periods(case, "meter_values.sample_interval", samples, interval)


def check_sampled(case, mv, wanted):
    values = sampled_values(mv)
    contexts = {sv.get("context", "Sample.Periodic") for sv in values}
    case.check(contexts == {"Sample.Periodic"}, "every sampled value with context Sample.Periodic",
               f"sent contexts {sorted(contexts)} (seq {mv.seq})")
    check_measurands(case, mv, values, wanted)
    ev_located = sorted({sv.get("measurand", DEFAULT_MEASURAND) for sv in values
                         if sv.get("location") == "EV"} - {"SoC"})
    case.check(not ev_located, "location EV only for SoC",
               f"sent location EV for {', '.join(ev_located)} (seq {mv.seq})")
    formats = {sv.get("format", "Raw") for sv in values} - {"Raw", "SignedData"}
    case.check(not formats, "format Raw or SignedData", f"sent format {sorted(formats)}")

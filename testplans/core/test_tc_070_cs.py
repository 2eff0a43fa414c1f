"""TC_070_CS Sampled Meter Values (catalogue §1.1 and §3.4; OL p34).

MeterValueSampleInterval=S, ClockAlignedDataInterval=0; GetConfiguration(MeterValuesSampledData);
Charging; MeterValues every S s, watched for at least 3·S: context Sample.Periodic, every
configured measurand present (empty list means Energy.Active.Import.Register), location EV
only for SoC, format Raw or SignedData. The intervals are a measured series with limits.
"""

import pytest

from testplans.ocpp import expect, get_config, intervals_s
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_070_CS", "Sampled Meter Values", requires=("instrument:ev", "instrument:card"),
    config={"MeterValueSampleInterval": "{meter_value_sample_interval_s}",
            "ClockAlignedDataInterval": "0"},
)

SAMPLES = 4  # 3 intervals: OCTT watches at least 3 x the interval


async def test_tc_070_cs(case):
    interval = float(case.setting("meter_value_sample_interval_s"))
    configured = (await get_config(case, "MeterValuesSampledData"))["MeterValuesSampledData"]
    wanted = [m.strip() for m in (configured or "").split(",") if m.strip()] \
        or ["Energy.Active.Import.Register"]
    session = await charging(case)

    with case.step(f"{SAMPLES} sampled MeterValues, one every {interval:g} s"):
        samples, after = [], session.start.mono_ns
        for _ in range(SAMPLES):
            mv = await expect(case, "MeterValues",
                              {"connectorId": session.connector,
                               "transactionId": session.transaction_id},
                              after=after, within=2 * interval + case.timeout)
            check_sampled(case, mv, wanted)
            samples.append(mv)
            after = mv.mono_ns + 1
    periods = intervals_s(samples)
    evidence = [m.seq for m in samples]
    case.measure("meter_values.sample_interval", series=periods, evidence=evidence)
    case.measure("meter_values.sample_interval_error",
                 series=[abs(p - interval) for p in periods], evidence=evidence)


def check_sampled(case, mv, wanted):
    values = [sv for entry in mv.payload.get("meterValue", []) for sv in entry["sampledValue"]]
    contexts = {sv.get("context", "Sample.Periodic") for sv in values}
    case.check(contexts == {"Sample.Periodic"}, "every sampled value with context Sample.Periodic",
               f"sent contexts {sorted(contexts)} (seq {mv.seq})")
    present = {sv.get("measurand", "Energy.Active.Import.Register") for sv in values}
    missing = [m for m in wanted if m not in present]
    case.check(not missing, f"every configured measurand ({', '.join(wanted)})",
               f"left out {', '.join(missing)} (seq {mv.seq})")
    ev_located = sorted({sv.get("measurand", "Energy.Active.Import.Register") for sv in values
                         if sv.get("location") == "EV"} - {"SoC"})
    case.check(not ev_located, "location EV only for SoC",
               f"sent location EV for {', '.join(ev_located)} (seq {mv.seq})")
    formats = {sv.get("format", "Raw") for sv in values} - {"Raw", "SignedData"}
    case.check(not formats, "format Raw or SignedData", f"sent format {sorted(formats)}")

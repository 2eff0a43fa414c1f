"""TC_071_CS Clock-aligned Meter Values (catalogue §1.1 and §3.4; OL p36).

MeterValueSampleInterval=0, ClockAlignedDataInterval=A; GetConfiguration(MeterValuesAlignedData);
Charging; MeterValues every A s, watched for at least 3·A: context Sample.Clock, timestamps on
wall-clock multiples of A (A=20 s: :00, :20, :40), every configured measurand present.
The alignment offsets and the intervals are measured series with limits.
"""

import pytest

from testplans.ocpp import expect, get_config, intervals_s, station_time
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_071_CS", "Clock-aligned Meter Values", requires=("instrument:ev", "instrument:card"),
    config={"MeterValueSampleInterval": "0",
            "ClockAlignedDataInterval": "{clock_aligned_data_interval_s}"},
)

SAMPLES = 4  # 3 intervals: OCTT watches at least 3 x the interval


async def test_tc_071_cs(case):
    interval = float(case.setting("clock_aligned_data_interval_s"))
    configured = (await get_config(case, "MeterValuesAlignedData"))["MeterValuesAlignedData"]
    wanted = [m.strip() for m in (configured or "").split(",") if m.strip()] \
        or ["Energy.Active.Import.Register"]
    session = await charging(case)

    with case.step(f"{SAMPLES} clock-aligned MeterValues, one every {interval:g} s"):
        samples, offsets, after = [], [], session.start.mono_ns
        for _ in range(SAMPLES):
            mv = await expect(case, "MeterValues",
                              {"connectorId": session.connector,
                               "transactionId": session.transaction_id},
                              after=after, within=2 * interval + case.timeout)
            offsets.append(check_aligned(case, mv, wanted, interval))
            samples.append(mv)
            after = mv.mono_ns + 1
    evidence = [m.seq for m in samples]
    case.measure("meter_values.clock_alignment_offset", series=offsets, evidence=evidence)
    periods = intervals_s(samples)
    case.measure("meter_values.clock_aligned_interval", series=periods, evidence=evidence)
    case.measure("meter_values.clock_aligned_interval_error",
                 series=[abs(p - interval) for p in periods], evidence=evidence)


def check_aligned(case, mv, wanted, interval):
    """Checks one Sample.Clock MeterValues; returns its timestamp's distance to the boundary."""
    entries = mv.payload.get("meterValue", [])
    values = [sv for entry in entries for sv in entry["sampledValue"]]
    contexts = {sv.get("context", "Sample.Periodic") for sv in values}
    case.check(contexts == {"Sample.Clock"}, "every value with context Sample.Clock",
               f"sent contexts {sorted(contexts)} (seq {mv.seq})")
    present = {sv.get("measurand", "Energy.Active.Import.Register") for sv in values}
    missing = [m for m in wanted if m not in present]
    case.check(not missing, f"every configured measurand ({', '.join(wanted)})",
               f"left out {', '.join(missing)} (seq {mv.seq})")
    stamp = station_time(entries[0].get("timestamp", "")) if entries else None
    case.check(stamp is not None, "a readable meterValue timestamp",
               f"sent {entries[0].get('timestamp') if entries else 'no meterValue'}")
    seconds = stamp.timestamp() % interval
    return min(seconds, interval - seconds)

"""TC_036_CS Connection Loss During Transaction (docs/catalogue.md; OCTT p47).

MeterValueSampleInterval=S, ClockAlignedDataInterval=0; Charging; a live sample; NET− for
more than 3·S; NET+ -> the MeterValues sampled offline come first, oldest first, then the live
ones. The bench reconstructs the expected timestamps from the last sample before the cut
(one every S): none may be missing; spacing = S (a measured series with limits); context
Sample.Periodic or omitted, format Raw/SignedData or omitted.

A MeterValues sent again after the reconnection with the very payload of one delivered before
is a resend, not a sample out of order: the cut can lose the answer to a message in flight,
and a transaction-related message that got no answer is sent again (OCPP 1.6 §3.7, and the
TransactionMessageAttempts key). It is accepted, left out of the order and spacing checks, and
the checks list names it.
"""

import datetime as dt
import itertools

import pytest

from testplans.ocpp import bench_utc_at, expect, station_time
from testplans.offline import restore_network
from testplans.states import charging

pytestmark = pytest.mark.octt(
    "TC_036_CS", "Connection Loss During Transaction",
    requires=("instrument:ev", "instrument:card", "instrument:network"),
    config={"MeterValueSampleInterval": "{meter_value_sample_interval_s}",
            "ClockAlignedDataInterval": "0"},
    measures=("meter_values.sample_timestamp_interval",
              "meter_values.sample_timestamp_interval_error"),
)

OFFLINE_SAMPLES = 3  # OCTT: the connection stays down for at least 3 sample intervals
LIVE_AFTER = 2  # live samples watched after the queued ones


def stamp_of(case, mv) -> dt.datetime:
    entries = mv.payload.get("meterValue", [])
    ts = station_time(entries[0].get("timestamp", "")) if entries else None
    case.check(ts is not None, "MeterValues with a readable meterValue timestamp",
               f"sent {entries[0].get('timestamp') if entries else 'no meterValue'} "
               f"(seq {mv.seq})", quiet=True)
    values = [sv for e in entries for sv in e.get("sampledValue", [])]
    contexts = {sv.get("context", "Sample.Periodic") for sv in values}
    case.check(contexts == {"Sample.Periodic"}, "context Sample.Periodic (or omitted)",
               f"sent contexts {sorted(contexts)} (seq {mv.seq})", quiet=True)
    formats = {sv.get("format", "Raw") for sv in values} - {"Raw", "SignedData"}
    case.check(not formats, "format Raw or SignedData (or omitted)",
               f"sent format {sorted(formats)} (seq {mv.seq})", quiet=True)
    return ts


async def test_tc_036_cs(case, station, bench):
    interval = float(case.setting("meter_value_sample_interval_s"))
    tol = float(case.setting("interval_tolerance_s"))
    session = await charging(case)
    match = {"connectorId": session.connector, "transactionId": session.transaction_id}

    with case.step("a live sampled MeterValues before the cut"):
        last_live = await expect(case, "MeterValues", match, after=session.start.mono_ns,
                                 within=2 * interval + case.timeout)
        t0 = stamp_of(case, last_live)
        offset = t0 - bench_utc_at(last_live.mono_ns)  # station clock - bench clock

    cut_s = (OFFLINE_SAMPLES + 0.5) * interval
    with case.step(f"network cut for {cut_s:g} s ({OFFLINE_SAMPLES} sample intervals and more)"):
        cut = await bench.cut_network(cut_s)
        await restore_network(case)
        back = station.connected_mono_ns
        back_station = bench_utc_at(back) + offset  # the reconnection on the station's clock
    case.log("offline", seconds=(back - cut) / 1e9)

    before_cut = [last_live, *(m for m in station.received("MeterValues")
                               if last_live.mono_ns < m.mono_ns < cut)]
    with case.step("after the reconnection: the queued MeterValues, oldest first, then live ones"):
        got, live, resent, after = [], 0, [], cut
        while live < LIVE_AFTER:
            mv = await expect(case, "MeterValues", match, after=after,
                              within=2 * interval + case.timeout)
            after = mv.mono_ns + 1
            first = next((m for m in [*before_cut, *(g for g, _ in got)]
                          if m.payload == mv.payload), None)
            if first is not None:
                resent.append((mv, first))
                continue
            got.append((mv, stamp_of(case, mv)))
            live += got[-1][1] > back_station
    if resent:
        case.passed("resent, not out of order: " + ", ".join(
            f"MeterValues seq {m.seq} repeats seq {first.seq}" for m, first in resent)
            + " (a transaction message whose answer the cut lost is sent again, OCPP 1.6 §3.7)")
    queued = [(m, t) for m, t in got if t <= back_station]
    offline_s = (back_station - t0).total_seconds()
    expected_queued = int(offline_s / interval + tol / interval)
    case.check(len(queued) >= OFFLINE_SAMPLES,
               f"at least {OFFLINE_SAMPLES} MeterValues sampled while offline "
               f"({offline_s:.1f} s offline, one every {interval:g} s: about "
               f"{expected_queued}) delivered after the reconnection",
               f"delivered {len(queued)}")
    late = next(((a, ta, b, tb) for (a, ta), (b, tb) in itertools.pairwise(got) if tb <= ta),
                None)
    case.check(late is None, "the queued MeterValues before the live ones, in chronological "
               "order (oldest first)",
               f"sent timestamp {late[3].isoformat()} (seq {late[2].seq}) after "
               f"{late[1].isoformat()} (seq {late[0].seq})" if late else "")
    case.passed(f"{len(queued)} queued MeterValues first, oldest first, then "
                f"{len(got) - len(queued)} live ones")

    stamps = [t0, *sorted(t for _, t in got)]
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    evidence = [last_live.seq, *(m.seq for m, _ in got)]
    case.measure("meter_values.sample_timestamp_interval", series=steps, evidence=evidence)
    case.measure("meter_values.sample_timestamp_interval_error",
                 series=[abs(s - interval) for s in steps], evidence=evidence)
    expected = [t0 + dt.timedelta(seconds=k * interval)
                for k in range(1, round((stamps[-1] - t0).total_seconds() / interval) + 1)]
    missing = [e for e in expected if not any(abs((t - e).total_seconds()) <= tol
                                              for t in stamps)]
    case.check(not missing, f"a sample every {interval:g} s from {t0.isoformat()} "
               f"({len(expected)} expected), none missing",
               "left out " + ", ".join(e.isoformat() for e in missing[:5])
               + (" ..." if len(missing) > 5 else ""))

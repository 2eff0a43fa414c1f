"""Write a 24-hour soak record: the load the report builder must handle (benchmarks/).

Two connectors, clock-aligned MeterValues every 10 s on connectors 0-2, sampled MeterValues
every 10 s during transactions, heartbeats every 30 s (judged as the plans judge them: by the
station's idle time, `heartbeat.idle_gap`), status notifications, a few local and
remote transactions, reference-meter readings, a drifting station clock, one late sample
(a finding) and the measurements a soak plan would record. About 90k frames.

    python -m tests.support.soakgen RUNS_DIR [--hours 24]     # prints the run directory
"""

from __future__ import annotations

import argparse
import datetime as dt
from itertools import pairwise
from pathlib import Path

from bench.measure import Limits, Measurement
from bench.record import RunRecord, Verdict, VerdictRecord

from .scripted import ScriptedStation, iso, station_snapshots

CASE = "SOAK_24H"
TICK_S = 10
HEARTBEAT_S = 30
POWER_W = 50_000.0
DRIFT_S_PER_DAY = 1.5
# (connector, start hour, end hour, started remotely by the bench)
SESSIONS = [
    (1, 0.2, 5.0, True), (2, 0.5, 5.5, False), (1, 6.0, 11.0, False), (2, 6.5, 12.5, True),
    (1, 12.0, 17.5, True), (2, 13.0, 19.0, False), (1, 18.0, 23.5, False), (2, 19.5, 23.8, True),
]


def write_soak_run(runs_dir: Path | str, hours: float = 24.0, seed: int = 7) -> Path:
    rec = RunRecord.create(runs_dir, "soak-24h", plan="soak-24h", rig="rigs/sim.toml",
                           operator="nightly", station_id="SMARTDC-SIM-01")
    snaps = station_snapshots()
    for name, data in snaps.items():
        rec.snapshot(name, data)
    start = dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC)
    sc = ScriptedStation(rec, "SMARTDC-SIM-01", start, seed=seed)
    rng = sc.rng
    with sc.clock():
        rec.current_case = "TC_001_CS"
        sc.verb("power_cycle", instrument="mains", off_s=5)
        sc.advance(8)
        sc.station_call("BootNotification", snaps["station"])
        for c in (0, 1, 2):
            sc.status(c, "Available")
        rec.verdict(VerdictRecord("TC_001_CS", Verdict.PASS, "booted, Available on 0, 1, 2",
                                  duration_s=8.2, checks=["SN Available per connector and 0"]))
        rec.current_case = CASE
        _soak(sc, rec, start + dt.timedelta(seconds=20), hours, rng)
        rec.snapshot("station_config_end", snaps["station_config_start"])
        rec.close("complete")
    return rec.path


def _soak(sc: ScriptedStation, rec: RunRecord, t0: dt.datetime, hours: float, rng) -> None:
    energy = {0: 5_000_000.0, 1: 2_000_000.0, 2: 3_000_000.0}
    active: dict[int, dict] = {}  # connector -> session state
    tx_id = 100
    periodic: dict[int, list[tuple[str, float]]] = {1: [], 2: []}  # (timestamp, interval)
    offsets: list[float] = []
    offset_index: list[str] = []
    remote_start: list[float] = []
    deviations: list[float] = []
    first_pdu = len(sc.station_pdus_ns)  # the soak's own idle times, not the boot's
    late_tick = int(hours * 3600 / TICK_S * 0.37)
    ticks = int(hours * 3600 / TICK_S)
    for k in range(1, ticks + 1):
        grid = t0.replace(second=0, microsecond=0) + dt.timedelta(seconds=k * TICK_S)
        hour = (grid - t0).total_seconds() / 3600
        sc.station_clock_offset_s = DRIFT_S_PER_DAY * hour / 24
        sc.at(grid - dt.timedelta(seconds=sc.station_clock_offset_s))
        # -- sessions begin and end ----------------------------------------------------------
        for conn, h0, h1, remote in SESSIONS:
            if h1 > hours:
                continue
            if conn not in active and h0 <= hour < h0 + TICK_S / 3600:
                tx_id += 1
                active[conn] = _start(sc, conn, tx_id, energy[conn], remote, remote_start, rng)
            elif conn in active and h1 <= hour < h1 + TICK_S / 3600:
                _stop(sc, conn, active.pop(conn), energy[conn], deviations)
        # -- energy flows, samples are sent --------------------------------------------------
        for conn in (1, 2):
            if conn in active:
                energy[conn] += POWER_W * TICK_S / 3600
                energy[0] += POWER_W * TICK_S / 3600
        for conn in (0, 1, 2):
            sc.advance(rng.uniform(0.02, 0.15))
            stamp = iso(grid)  # on the grid of the station's own clock
            tx = active.get(conn, {}).get("tx")
            sc.meter_values(conn, energy[conn], "Sample.Clock", transaction_id=tx,
                            timestamp=stamp, current_a=125.0 if tx else 0.0,
                            voltage_v=400.0 if tx else 0.0)
            if conn == 1:
                offsets.append((grid - sc.now).total_seconds())
                offset_index.append(iso(sc.now))
        for conn, state in active.items():
            late = 2.0 if k == late_tick and conn == 1 else 0.0
            sample_t = state["next_sample"] + dt.timedelta(seconds=late)
            if sample_t >= grid + dt.timedelta(seconds=TICK_S - 1):
                continue  # due in the next tick, after that tick's aligned samples
            sc.at(sample_t - dt.timedelta(seconds=sc.station_clock_offset_s))
            sc.meter_values(conn, energy[conn], "Sample.Periodic", transaction_id=state["tx"],
                            at=sc.now, current_a=125.0, voltage_v=400.0)
            if state.get("last_sample") is not None:
                periodic[conn].append((iso(sample_t),
                                       (sample_t - state["last_sample"]).total_seconds()))
            if late:
                sc.event("finding", "METERVALUES_LATE", station=sc.station_id,
                         message=f"sample {late:.0f} s late on connector {conn}")
            state["last_sample"] = sample_t
            state["next_sample"] = state["next_sample"] + dt.timedelta(seconds=TICK_S)
            if conn == 1 and k % 6 == 0:  # the integrator runs for the whole soak
                sc.event("instrument", "meter.energy", instrument="meter", connector=1,
                         value=round(energy[1] - 2_000_000.0 + rng.gauss(0, 5), 1),
                         unit="Wh")
        if k % (HEARTBEAT_S // TICK_S) == 0:
            sc.advance(rng.uniform(0.2, 0.5))
            sc.station_call("Heartbeat", {})
        if k % 2000 == 0:
            rec.sync()
    pdus = sc.station_pdus_ns[first_pdu:]
    idle_gaps = [(b - a) / 1e9 for a, b in pairwise(pdus)]
    _measure(rec, periodic, offsets, offset_index, idle_gaps, remote_start, deviations)
    ok = all(g <= 11 for conn in periodic for _, g in periodic[conn])
    rec.verdict(VerdictRecord(
        CASE, Verdict.PASS if ok else Verdict.FAIL,
        "24 h without disconnect; MeterValues spacing within 10 s ± 1 s" if ok else
        "a MeterValues sample arrived outside 10 s ± 1 s",
        name="24-hour soak: 2 connectors, MeterValues every 10 s", duration_s=hours * 3600,
        checks=["sampled spacing 10 s ± 1 s", "aligned samples on the 10 s grid",
                "idle at most HeartbeatInterval (30 s)", "station clock within 4 s",
                "energy within 1 %"]))


def _start(sc: ScriptedStation, conn: int, tx: int, meter: float, remote: bool,
           remote_start: list[float], rng) -> dict:
    sc.verb("plug_in", connector=conn, instrument=f"ev{conn}", cp_state="B")
    sc.advance(0.6)
    sc.status(conn, "Preparing")
    tag = "04A1B2C3D4E5F6" if conn == 1 else "04A1B2C3D4E5F7"
    if remote:
        respond = rng.uniform(0.2, 0.6)
        sc.bench_call("RemoteStartTransaction", {"connectorId": conn, "idTag": tag},
                      {"status": "Accepted"}, response_s=respond)
        sc.advance(rng.uniform(0.6, 1.4))
        remote_start.append(respond + 0.0)
    else:
        sc.verb("present_card", card="valid" if conn == 1 else "valid2", instrument="card")
        sc.advance(0.4)
        sc.station_call("Authorize", {"idTag": tag})
    sc.station_call("StartTransaction", {"connectorId": conn, "idTag": tag,
                                         "meterStart": int(meter),
                                         "timestamp": sc.station_time()},
                    {"transactionId": tx, "idTagInfo": {"status": "Accepted"}})
    sc.status(conn, "Charging")
    first = sc.now + dt.timedelta(seconds=sc.station_clock_offset_s + TICK_S)
    return {"tx": tx, "tag": tag, "meter_start": meter, "next_sample": first,
            "last_sample": None, "remote": remote}


def _stop(sc: ScriptedStation, conn: int, state: dict, meter: float,
          deviations: list[float]) -> None:
    if state["remote"]:
        sc.bench_call("RemoteStopTransaction", {"transactionId": state["tx"]},
                      {"status": "Accepted"}, response_s=0.3)
        reason = "Remote"
    else:
        sc.verb("present_card", card="valid" if conn == 1 else "valid2", instrument="card")
        reason = "Local"
    sc.advance(0.5)
    sc.station_call("StopTransaction", {"transactionId": state["tx"], "idTag": state["tag"],
                                        "meterStop": int(meter), "reason": reason,
                                        "timestamp": sc.station_time()})
    sc.status(conn, "Finishing")
    sc.verb("unplug", connector=conn, instrument=f"ev{conn}")
    sc.advance(1.0)
    sc.status(conn, "Available")
    if conn == 1:
        deviations.append(0.2 + 0.05 * len(deviations))


def _measure(rec: RunRecord, periodic, offsets, offset_index, idle_gaps, remote_start,
             deviations) -> None:
    for conn, rows in periodic.items():
        rec.measurement(Measurement(
            f"MeterValues sample interval connector {conn}", "s", series=[g for _, g in rows],
            series_index=[t for t, _ in rows],
            limits=Limits(low=9, high=11, stat="max", source="MeterValueSampleInterval 10 s ± 1 s"),
            description="Spacing of consecutive Sample.Periodic timestamps during transactions",
        ).as_dict())
    rec.measurement(Measurement(
        "Station clock offset", "s", series=offsets, series_index=offset_index,
        limits=Limits(low=-4, high=4, stat="max", source="rigs/sim.toml [pics] "
                      "max_time_deviation_s"),
        description="Clock-aligned MeterValues timestamp minus bench UTC at arrival, connector 1",
    ).as_dict())
    rec.measurement(Measurement(
        "heartbeat.idle_gap", "s", series=idle_gaps,
        limits=Limits(high=HEARTBEAT_S + 1, stat="max", source="HeartbeatInterval 30 s + 1 s"),
        description="Idle time of the station: a PDU it sent -> the next one (socket stamps); "
                    "HeartbeatInterval is an interval of inactivity (OCPP 1.6 §4.6)").as_dict())
    rec.measurement(Measurement(
        "Response time RemoteStartTransaction", "s", series=remote_start,
        limits=Limits(high=10, stat="max", source="rigs/sim.toml [pics] remote_start_response_s"),
        description="RemoteStartTransaction.req to its CALLRESULT").as_dict())
    rec.measurement(Measurement(
        "Energy deviation against the reference meter", "%", series=deviations,
        limits=Limits(high=1.0, stat="max", source="rigs/sim.toml [pics] energy_tolerance_pct"),
        description="Per transaction on connector 1").as_dict())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.soakgen")
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args(argv)
    print(write_soak_run(args.runs_dir, hours=args.hours))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A short, realistic Core campaign record: for the report tests, demos and the docs.

`python -m tests.support.samplerun RUNS_DIR [--fail] [--partial]` (from the repository root)
writes one and prints its path.
Variants: `fail` (a wrong stop reason, a blocked case), `partial` (cut off inside TC_070),
`hostile` (station text with markup, secrets where they must not appear), `remote_start_s`
(how long the station takes from RemoteStartTransaction to StartTransaction).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from bench.measure import Limits, Measurement
from bench.record import RunRecord, Verdict, VerdictRecord

from .scripted import ScriptedStation, station_snapshots

STATION_ID = "SMARTDC-SIM-01"
HOSTILE = "<script>alert(1)</script>"
SECRET = "S3cr3tBasicAuthKey0123"  # what must never reach a report


def write_sample_run(runs_dir: Path | str, *, fail: bool = False, partial: bool = False,
                     hostile: bool = False, remote_start_s: float = 1.2,
                     firmware: str = "v8.8.15", label: str = "core") -> Path:
    rec = RunRecord.create(runs_dir, label, plan="core", rig="rigs/sim.toml", operator="ci",
                           station_id=STATION_ID)
    snaps = station_snapshots(vendor=HOSTILE if hostile else "Flo", firmware=firmware)
    if hostile:
        snaps["rig"]["station"]["authorization_key"] = SECRET
        snaps["non_ocpp_config"]["flo:CustomMessage"] = f"{HOSTILE} & <b>bold</b>"
        snaps["station_config_start"].append({"key": "AuthorizationKey", "value": SECRET,
                                              "readonly": False})
    for name, data in snaps.items():
        rec.snapshot(name, data)
    sc = ScriptedStation(rec, STATION_ID, dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC))
    response_times: list[float] = []
    evidence: list[int] = []

    def bench_call(*args, **kwargs) -> tuple[int, int]:
        seqs = sc.bench_call(*args, **kwargs)
        response_times.append(kwargs.get("response_s", 0.3))
        return seqs

    def verdict(case: str, v: Verdict, message: str, duration: float, checks: list[str],
                attempt: int = 1, cause: str | None = None) -> None:
        rec.verdict(VerdictRecord(case, v, message, attempt=attempt, duration_s=duration,
                                  checks=checks, cause=cause))
        rec.sync()

    with sc.clock():
        if hostile:
            sc.event("handshake", "connect", path=f"/ocpp/{STATION_ID}",
                     headers={"Authorization": f"Basic {SECRET}", "Sec-WebSocket-Protocol":
                              "ocpp1.6"}, subprotocol="ocpp1.6")
        # -- TC_001_CS ---------------------------------------------------------------------
        rec.current_case = "TC_001_CS"
        sc.verb("power_cycle", instrument="mains", off_s=5)
        sc.advance(8)
        boot = snaps["station"]
        sc.station_call("BootNotification", boot, {"status": "Rejected", "currentTime":
                                                   sc.station_time(), "interval": 10})
        sc.advance(10.4)
        sc.station_call("BootNotification", boot)
        for c in (0, 1, 2):
            sc.status(c, "Available")
        sc.advance(30)
        sc.station_call("Heartbeat", {})
        verdict("TC_001_CS", Verdict.PASS, "second BootNotification 10.4 s after Rejected "
                "(interval 10 s); StatusNotification Available on 0, 1, 2; idle at most 30 s",
                49.2, ["2nd Boot not before interval", "SN Available per connector and 0",
                       "idle at most HeartbeatInterval"])
        # -- TC_019_CS ---------------------------------------------------------------------
        rec.current_case = "TC_019_CS"
        sc.advance(2)
        bench_call("GetConfiguration", {}, {"configurationKey": snaps["station_config_start"]},
                   response_s=0.21)
        verdict("TC_019_CS", Verdict.PASS, "SupportedFeatureProfiles contains Core; every "
                "required Core key present with the right readonly flag", 0.4,
                ["SupportedFeatureProfiles contains Core", "unknownKey empty"])
        # -- TC_021_CS ---------------------------------------------------------------------
        rec.current_case = "TC_021_CS"
        bench_call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "15"},
                   {"status": "Accepted"}, response_s=0.12)
        bench_call("GetConfiguration", {"key": ["MeterValueSampleInterval"]}, {
            "configurationKey": [{"key": "MeterValueSampleInterval", "value": "15",
                                  "readonly": False}]}, response_s=0.09)
        if hostile:
            bench_call("ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET},
                       {"status": "Accepted"}, response_s=0.1)
        bench_call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "10"},
                   {"status": "Accepted"}, response_s=0.11)
        verdict("TC_021_CS", Verdict.PASS, "ChangeConfiguration Accepted, read back 15",
                0.5, ["ChangeConfiguration Accepted", "GetConfiguration reads back 15"])
        # -- TC_010_CS ---------------------------------------------------------------------
        rec.current_case = "TC_010_CS"
        sc.verb("plug_in", connector=1, instrument="ev1", cp_state="B")
        sc.advance(0.8)
        sc.status(1, "Preparing")
        call, ans = bench_call("RemoteStartTransaction", {"connectorId": 1,
                                                          "idTag": "04A1B2C3D4E5F6"},
                               {"status": "Accepted"}, response_s=0.35)
        sc.advance(remote_start_s - 0.35)
        start, _ = sc.station_call("StartTransaction", {
            "connectorId": 1, "idTag": "04A1B2C3D4E5F6", "meterStart": 120000,
            "timestamp": sc.station_time()}, {"transactionId": 42,
                                              "idTagInfo": {"status": "Accepted"}})
        sc.status(1, "Charging")
        evidence = [call, ans, start]
        rec.measurement(Measurement(
            "Response time RemoteStartTransaction", "s", value=remote_start_s,
            limits=Limits(high=10, stat="max", source="rigs/sim.toml [pics] "
                          "remote_start_response_s"),
            description="RemoteStartTransaction.req to StartTransaction.req (EV plugged, ready)",
            evidence=evidence).as_dict())
        verdict("TC_010_CS", Verdict.PASS, "RemoteStart Accepted; StartTransaction on "
                "connector 1 with the remote idTag; SN Charging", remote_start_s + 1.5,
                ["RemoteStart Accepted", "StartTransaction connectorId/idTag", "SN Charging"])
        # -- TC_070_CS: sampled meter values while charging ------------------------------------
        rec.current_case = "TC_070_CS"
        interval = 15.0 if fail else 10.0
        energy, stamps, intervals = 120000.0, [], []
        for i in range(12):
            sc.advance(interval - 0.02)
            energy += 138.9 * interval / 10
            sc.meter_values(1, energy, "Sample.Periodic", transaction_id=42, current_a=125,
                            voltage_v=400)
            stamps.append(sc.station_time())
            sc.event("instrument", "meter.energy", instrument="meter", connector=1,
                     value=round((energy - 120000) * 1.003, 1), unit="Wh")
            if i:
                intervals.append(interval)
            if partial and i == 7:
                rec.sync()
                return rec.path  # cut off: never closed, no verdict for TC_070_CS
        m = Measurement("MeterValues sample interval", "s", series=intervals,
                        series_index=stamps[1:], limits=Limits(low=9, high=11, stat="max",
                                                               source="MeterValueSampleInterval "
                                                               "10 s ± 1 s"),
                        description="Spacing of consecutive MeterValues timestamps, connector 1")
        rec.measurement(m.as_dict())
        if fail:
            sc.event("finding", "METERVALUES_INTERVAL", station=STATION_ID,
                     message="MeterValues every 15 s, MeterValueSampleInterval is 10 s")
            verdict("TC_070_CS", Verdict.FAIL, "MeterValues spacing 15 s, expected 10 s ± 1 s",
                    180.0, ["spacing = MeterValueSampleInterval ± 1 s",
                            "context Sample.Periodic", "configured measurands present"])
        else:
            verdict("TC_070_CS", Verdict.PASS, "12 MeterValues, spacing 10 s ± 0.02 s, "
                    "context Sample.Periodic, measurands complete", 120.0,
                    ["spacing = MeterValueSampleInterval ± 1 s", "context Sample.Periodic",
                     "configured measurands present"])
        # -- TC_012_CS ---------------------------------------------------------------------
        rec.current_case = "TC_012_CS"
        call, ans = bench_call("RemoteStopTransaction", {"transactionId": 42},
                               {"status": "Accepted"}, response_s=0.28)
        sc.advance(0.9)
        reason = "Local" if fail else "Remote"
        stop, _ = sc.station_call("StopTransaction", {
            "transactionId": 42, "idTag": "04A1B2C3D4E5F6", "meterStop": int(energy),
            "timestamp": sc.station_time(), "reason": reason})
        sc.status(1, "Finishing")
        sc.verb("unplug", connector=1, instrument="ev1")
        sc.status(1, "Available")
        if fail:
            sc.event("finding", "WRONG_STOP_REASON", station=STATION_ID, frame_seq=stop,
                     message=f"StopTransaction reason {reason!r}, expected 'Remote'")
            verdict("TC_012_CS", Verdict.FAIL, "StopTransaction reason 'Local', expected "
                    "'Remote'", 3.1, ["RemoteStop Accepted", "StopTransaction reason Remote"])
        else:
            verdict("TC_012_CS", Verdict.PASS, "RemoteStop Accepted; StopTransaction reason "
                    "Remote; SN Finishing", 3.1, ["RemoteStop Accepted",
                                                   "StopTransaction reason Remote"])
        # -- TC_017_1_CS, TC_027_CS, TC_062_CS, TC_068_CS ---------------------------------------
        rec.current_case = "TC_017_1_CS"
        verdict("TC_017_1_CS", Verdict.NA, "needs a socket; the station has a fixed cable "
                "(hardware fixed_cable = true)", 0.0, [])
        rec.current_case = "TC_027_CS"
        bench_call("RemoteStartTransaction", {"connectorId": 0, "idTag": "04A1B2C3D4E5F6"},
                   error=("PropertyConstraintViolation", "connectorId must be > 0"),
                   response_s=0.05)
        verdict("TC_027_CS", Verdict.PASS, "RemoteStart on connector 0 answered CALLERROR "
                "PropertyConstraintViolation", 0.1, ["not Accepted"])
        rec.current_case = "TC_062_CS"
        sc.event("instrument", "card.timeout", instrument="card", address="127.0.0.1:35963",
                 error="no answer within 5 s")
        verdict("TC_062_CS", Verdict.ERROR, "bench fault: card presenter 127.0.0.1:35963 did "
                "not answer within 5 s", 5.0, [], attempt=1)
        bench_call("DataTransfer", {"vendorId": "org.example.unknown", "messageId": "x"},
                   {"status": "UnknownVendorId"}, response_s=0.07)
        if hostile:
            sc.station_call("DataTransfer", {"vendorId": HOSTILE, "data": f"{HOSTILE}"},
                            {"status": "UnknownVendorId"})
        verdict("TC_062_CS", Verdict.PASS, "DataTransfer answered UnknownVendorId", 0.2,
                ["Rejected or UnknownVendorId"], attempt=2)
        rec.current_case = "TC_068_CS"
        if fail:
            verdict("TC_068_CS", Verdict.BLOCKED, "prerequisite TC_012_CS failed", 0.0, [],
                    cause="TC_012_CS")
        else:
            verdict("TC_068_CS", Verdict.NA, "one RFID reader per station, variant not "
                    "selected by the plan", 0.0, [])
        rec.current_case = None
        rec.measurement(Measurement(
            "OCPP response timeout", "s", series=response_times,
            limits=Limits(high=30, stat="max", source="rigs/sim.toml [pics] "
                          "ocpp_response_timeout_s"),
            description="Station response time to every CALL of the bench").as_dict())
        end_cfg = [dict(item) for item in snaps["station_config_start"]]
        if fail:
            for item in end_cfg:
                if item["key"] == "HeartbeatInterval":
                    item["value"] = "60"
        rec.snapshot("station_config_end", end_cfg)
        rec.close("complete")
    return rec.path


# what a station may hide in its text: a bidi override, a terminal escape, NUL, a zero-width
# space, a line separator; none may reach a report unescaped, nor break junit.xml
CONTROLS = "\u202eevil\x1b[2J\x00\u200b\u2028"


def write_controls_run(runs_dir: Path | str) -> Path:
    """A failed TC_012_CS whose station text (vendor, firmware, a vendor setting, a key's value,
    an instrument's identity, the verdict, a finding) holds CONTROLS."""
    rec = RunRecord.create(runs_dir, "controls", plan="core", station_id=STATION_ID,
                           simulated=True, faults=[], behaviours=[])
    snaps = station_snapshots(vendor=f"Flo{CONTROLS}", firmware=f"v8{CONTROLS}")
    snaps["non_ocpp_config"]["flo:CustomMessage"] = f"hello{CONTROLS}"
    snaps["station_config_start"].append({"key": "flo:Greeting", "value": f"hi{CONTROLS}",
                                          "readonly": True})
    snaps["instruments"][0]["identity"] = f"BENCH-EV{CONTROLS}"
    for name, data in snaps.items():
        rec.snapshot(name, data)
    sc = ScriptedStation(rec, STATION_ID, dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC))
    with sc.clock():
        rec.current_case = "TC_012_CS"
        stop, _ = sc.station_call("StopTransaction", {
            "transactionId": 42, "idTag": f"TAG{CONTROLS}"[:20], "meterStop": 1,
            "timestamp": sc.station_time(), "reason": "Local"})
        sc.event("finding", "WRONG_STOP_REASON", station=STATION_ID, frame_seq=stop,
                 message=f"reason {CONTROLS!s}")
        rec.verdict(VerdictRecord("TC_012_CS", Verdict.FAIL, f"the station sent reason "
                                  f"Local{CONTROLS}", duration_s=1.0,
                                  checks=[f"StopTransaction reason Remote{CONTROLS}"]))
        rec.current_case = None
        rec.close("complete")
    return rec.path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.samplerun")
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--partial", action="store_true")
    args = parser.parse_args(argv)
    print(write_sample_run(args.runs_dir, fail=args.fail, partial=args.partial))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Realistic OCPP 1.6-J traffic written into a RunRecord on a simulated clock.

Used by the soak-record generator and by the report tests: a 24-hour run must be written in
seconds, so time is simulated. The writer stamps `utc` itself; while `clock()` is active its
`utc_now` is pointed at the simulated time so that frames, events and station timestamps
agree. Verdict and measurement lines keep the writer's real monotonic stamp (the reports
order them by seq, not by time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

from bench.record import Direction, FrameRecord, RunRecord
from bench.record import writer as record_writer


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ScriptedStation:
    """A station and the bench exchanging frames, at times the script chooses."""

    def __init__(self, rec: RunRecord, station_id: str, start: dt.datetime,
                 seed: int = 1) -> None:
        self.rec = rec
        self.station_id = station_id
        self.now = start.astimezone(dt.UTC)
        self.start = self.now
        self.start_mono_ns = time.monotonic_ns()
        self.rng = random.Random(seed)
        self._station_msg = 0
        self.station_clock_offset_s = 0.0  # the station's clock minus the bench's
        self.station_pdus_ns: list[int] = []  # every frame the station sent (idle times)

    # -- clock -----------------------------------------------------------------------------
    @property
    def mono_ns(self) -> int:
        return self.start_mono_ns + int((self.now - self.start).total_seconds() * 1e9)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def station_time(self, at: dt.datetime | None = None) -> str:
        t = (at or self.now) + dt.timedelta(seconds=self.station_clock_offset_s)
        return iso(t)

    @contextlib.contextmanager
    def clock(self) -> Iterator[ScriptedStation]:
        """Stamp record lines with the simulated UTC; sets the run's start in run.json."""
        self.rec.update_meta(started_utc=iso(self.start), started_mono_ns=self.start_mono_ns)
        with mock.patch.object(record_writer, "utc_now", lambda: iso(self.now)):
            yield self

    # -- frames ----------------------------------------------------------------------------
    def _frame(self, direction: Direction, msg: list[Any], action: str | None,
               schema: str = "ok", raw: str | None = None) -> int:
        if direction is Direction.IN:
            self.station_pdus_ns.append(self.mono_ns)
        return self.rec.frame(FrameRecord(
            mono_ns=self.mono_ns, station=self.station_id, direction=direction,
            raw=raw if raw is not None else json.dumps(msg, separators=(",", ":"),
                                                       ensure_ascii=False),
            msg_type=msg[0] if msg else None, msg_id=str(msg[1]) if len(msg) > 1 else None,
            action=action, schema=schema,
        ))

    def station_call(self, action: str, payload: dict[str, Any],
                     answer: dict[str, Any] | None = None, answer_after_s: float = 0.02,
                     schema: str = "ok") -> tuple[int, int]:
        """The station sends a CALL, the bench answers (Heartbeat etc. get their usual answer)."""
        self._station_msg += 1
        msg_id = str(self._station_msg)
        call_seq = self._frame(Direction.IN, [2, msg_id, action, payload], action, schema)
        self.advance(answer_after_s)
        if answer is None:
            answer = default_answer(action, self.now)
        ans_seq = self._frame(Direction.OUT, [3, msg_id, answer], action)
        return call_seq, ans_seq

    def bench_call(self, action: str, payload: dict[str, Any],
                   answer: dict[str, Any] | None = None, response_s: float = 0.3,
                   error: tuple[str, str] | None = None, schema: str = "ok") -> tuple[int, int]:
        """The bench sends a CALL; the station answers after response_s (or with a CALLERROR)."""
        msg_id = f"b-{self.rng.getrandbits(48):012x}"
        call_seq = self._frame(Direction.OUT, [2, msg_id, action, payload], action)
        self.advance(response_s)
        if error is not None:
            ans_seq = self._frame(Direction.IN, [4, msg_id, error[0], error[1], {}], action,
                                  schema)
        else:
            ans_seq = self._frame(Direction.IN, [3, msg_id, answer or {}], action, schema)
        return call_seq, ans_seq

    def unreadable(self, raw: str) -> int:
        return self._frame(Direction.IN, [], None, schema="invalid: not JSON", raw=raw)

    # -- physical side ---------------------------------------------------------------------
    def verb(self, name: str, **detail: Any) -> int:
        return self.rec.event("verb", name, mono_ns=self.mono_ns, **detail)

    def event(self, kind: str, name: str, **detail: Any) -> int:
        return self.rec.event(kind, name, mono_ns=self.mono_ns, **detail)

    # -- typical payloads ------------------------------------------------------------------
    def status(self, connector: int, status: str, error_code: str = "NoError") -> None:
        self.station_call("StatusNotification", {
            "connectorId": connector, "errorCode": error_code, "status": status,
            "timestamp": self.station_time()})

    def at(self, t: dt.datetime) -> None:
        """Move the clock to t (never backwards: the record is in time order)."""
        self.now = max(self.now, t)

    def meter_values(self, connector: int, energy_wh: float, context: str,
                     at: dt.datetime | None = None, transaction_id: int | None = None,
                     current_a: float = 0.0, voltage_v: float = 0.0,
                     timestamp: str | None = None) -> None:
        sampled = [
            {"value": f"{energy_wh:.1f}", "context": context,
             "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": f"{current_a:.1f}", "context": context, "measurand": "Current.Import",
             "unit": "A"},
            {"value": f"{voltage_v:.1f}", "context": context, "measurand": "Voltage",
             "unit": "V"},
        ]
        payload: dict[str, Any] = {"connectorId": connector, "meterValue": [
            {"timestamp": timestamp or self.station_time(at), "sampledValue": sampled}]}
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        self.station_call("MeterValues", payload)


def default_answer(action: str, now: dt.datetime) -> dict[str, Any]:
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": iso(now), "interval": 30}
    if action == "Heartbeat":
        return {"currentTime": iso(now)}
    if action in ("Authorize", "StartTransaction", "StopTransaction"):
        return {"idTagInfo": {"status": "Accepted"}}
    return {}


def station_snapshots(vendor: str = "Flo", model: str = "SmartDC",
                      firmware: str = "v8.8.15") -> dict[str, Any]:
    """Snapshots shaped like the SmartDC certificate's annex (what `bench run` records)."""
    config = [
        ("AllowOfflineTxForUnknownId", "true", False), ("AuthorizeRemoteTxRequests", "true", False),
        ("ClockAlignedDataInterval", "10", False), ("ConnectionTimeOut", "60", False),
        ("GetConfigurationMaxKeys", "256", True), ("HeartbeatInterval", "30", False),
        ("LocalAuthorizeOffline", "false", False), ("LocalPreAuthorize", "false", False),
        ("MeterValuesAlignedData", "Energy.Active.Import.Register", False),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Current.Import,Voltage", False),
        ("MeterValueSampleInterval", "10", False), ("NumberOfConnectors", "2", True),
        ("ResetRetries", "0", False), ("StopTransactionOnInvalidId", "true", False),
        ("SupportedFeatureProfiles", "Core", True), ("TransactionMessageAttempts", "3", False),
        ("TransactionMessageRetryInterval", "5", False),
        ("UnlockConnectorOnEVSideDisconnect", "true", False),
    ]
    return {
        "station": {"chargePointVendor": vendor, "chargePointModel": model,
                    "chargePointSerialNumber": "SDC3-000142", "firmwareVersion": firmware,
                    "meterType": "DC meter"},
        "hardware": {"connectors": 2, "fixed_cable": True, "communication": "Ethernet",
                     "rfid_readers": 1, "connector_lock": False, "backup_power": False},
        "non_ocpp_config": {"CustomDisplayCostAndPrice": "TRUE", "CustomidleFeeAfterStop": "FALSE",
                            "flo:WelcomeMessage": "Tenez votre carte près du lecteur"},
        "pics": {"feature_profiles": ["Core"], "ocpp_response_timeout_s": 30,
                 "triggered_function_timeout_s": 30, "remote_start_response_s": 10,
                 "meter_value_sample_interval_s": 10, "clock_aligned_data_interval_s": 10},
        "instruments": [
            {"name": "ev1", "driver": "modbus-ev", "address": "127.0.0.1:15020/1",
             "identity": "BENCH-EV v1 (twin)"},
            {"name": "meter", "driver": "scpi-meter",
             "address": "TCPIP::127.0.0.1::15025::SOCKET", "identity": "BENCHSIM,PM-SIM,0001,1.0"},
        ],
        "station_config_start": [{"key": k, "value": v, "readonly": ro} for k, v, ro in config],
        "rig": {"path": "rigs/sim.toml", "station": {"id": "SMARTDC-SIM-01",
                                                     "security_profile": 0},
                "bench": {"operator": "simulation"}, "instruments": {"meter": {"connector": 1}}},
    }

"""The idle-time measure of Heartbeats and the declared-milliseconds check, on their own.

The bench runs of tests/test_behaviours_station.py and tests/test_faults_station.py prove
them inside cases; these pin the rules: idle times between the station's PDUs (the first
from the connection's opening), and whole-second timestamps failing only a station that
declares milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plans_support import sim_rig

from bench.csms.messages import CALL, CALLRESULT, Received
from bench.csms.session import StationPdu
from bench.plugin import BenchContext, Case, StationNonConformance
from bench.plugin.limits import LimitMap
from bench.plugin.loop import BenchLoop
from bench.plugin.plan import Plan
from bench.record import RunRecord
from testplans.heartbeat import OPENED, idle_times
from testplans.timestamps import check_declared_milliseconds, whole_second_timestamps

S = 1_000_000_000


def pdu(t_s: float, action: str, seq: int, msg_type: int = CALL) -> StationPdu:
    return StationPdu("CP", int(t_s * S), seq, msg_type, action)


def test_idle_times_run_from_any_station_pdu_to_the_next() -> None:
    pdus = [pdu(10, "Heartbeat", 1), pdu(12, "MeterValues", 2),
            pdu(13, "GetConfiguration", 3, CALLRESULT), pdu(15, "Heartbeat", 4)]
    idle = idle_times(pdus, opened_ns=9 * S)
    assert [round(t.seconds, 3) for t in idle] == [1.0, 2.0, 1.0, 2.0]
    assert [(t.start, t.end) for t in idle] == [
        (OPENED, "Heartbeat"), ("Heartbeat", "MeterValues"),
        ("MeterValues", "answer to GetConfiguration"), ("answer to GetConfiguration", "Heartbeat")]
    assert [t.end_seq for t in idle] == [1, 2, 3, 4]
    # Heartbeat to Heartbeat is 5 s here; no idle time exceeds 2 s: conformant for 2 s
    assert max(t.seconds for t in idle_times(pdus)) == 2.0
    assert idle_times([], opened_ns=0) == []


def test_whole_second_timestamps_are_found_at_any_depth() -> None:
    payload = {"connectorId": 1, "timestamp": "2026-01-01T10:00:00.123Z",
               "meterValue": [{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": []},
                              {"timestamp": "2026-01-01T12:00:01.5+02:00"}]}
    assert whole_second_timestamps(payload) == [("meterValue[0].timestamp",
                                                 "2026-01-01T10:00:00Z")]
    assert whole_second_timestamps({"idTag": "X"}) == []


@pytest.fixture
def case_with(tmp_path: Path):
    made: list[tuple[BenchLoop, RunRecord]] = []

    def make(**settings) -> Case:
        loop, record = BenchLoop(), RunRecord.create(tmp_path, "ms")
        made.append((loop, record))
        ctx = BenchContext(rig=sim_rig(), plan=Plan(name="t", suites=[]), settings=settings,
                           record=record, loop=loop, limits=LimitMap.load())
        return Case(ctx, "TC_X", "x", {})

    yield make
    for loop, record in made:
        loop.close()
        record.close()


WHOLE = Received("StatusNotification", {"connectorId": 0, "errorCode": "NoError",
                                        "status": "Available",
                                        "timestamp": "2026-01-01T10:00:00Z"}, "m1", 0, 7)


def test_whole_seconds_fail_only_a_station_that_declares_milliseconds(case_with) -> None:
    for declared in (False, None):  # declared false, or not declared: nothing to judge
        settings = {} if declared is None else {"sends_milliseconds": declared}
        check_declared_milliseconds(case_with(**settings), WHOLE)
    case = case_with(sends_milliseconds=True)
    with_ms = Received("Heartbeat", {"timestamp": "2026-01-01T10:00:00.000Z"}, "m2", 0, 8)
    check_declared_milliseconds(case, with_ms)  # ".000" is milliseconds too
    with pytest.raises(StationNonConformance) as info:
        check_declared_milliseconds(case, WHOLE)
    message = str(info.value)
    assert "sends_milliseconds = true" in message
    assert "StatusNotification.timestamp = '2026-01-01T10:00:00Z'" in message
    assert "seq 7" in message

"""The one station state (bench/csms/session.py): fed once by the receive loop, read by test
plans, published as typed events, bounded like the rest of a session; and the endpoint's
layers import downward only."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import pytest
from test_csms_support import BOOT, events, exchange, running_csms, station_connect

from bench.csms import CallErrorReply, Delayed, ExpectTimeout, session
from bench.csms.session import (
    Booted,
    MeterValuesReceived,
    ResponseTimed,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)

START = {"connectorId": 1, "idTag": "AA01", "meterStart": 100,
         "timestamp": "2026-11-23T10:00:00Z"}
STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
METER = {"connectorId": 1, "transactionId": 0, "meterValue": [
    {"timestamp": "2026-11-23T10:00:05Z", "sampledValue": [{"value": "150"}]}]}
CSMS_PACKAGE = Path(__file__).resolve().parents[1] / "bench" / "csms"


async def test_events_follow_a_transaction_as_the_frames_are_answered(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        st = csms.station("CP1")
        seen: list[object] = []
        for kind in (Booted, StatusChanged, TransactionStarted, MeterValuesReceived,
                     TransactionStopped):
            st.session.subscribe(kind, seen.append)
        await exchange(ws, [2, "b", "BootNotification", BOOT])
        await exchange(ws, [2, "s", "StatusNotification", STATUS])
        tid = (await exchange(ws, [2, "t", "StartTransaction", START]))[2]["transactionId"]
        await exchange(ws, [2, "m", "MeterValues", {**METER, "transactionId": tid}])
        await exchange(ws, [2, "e", "StopTransaction", {
            "transactionId": tid, "meterStop": 200, "timestamp": "2026-11-23T10:01:00Z",
            "reason": "Local"}])
        start = next(m for m in st.received("StartTransaction"))
    assert [type(e).__name__ for e in seen] == ["Booted", "StatusChanged", "TransactionStarted",
                                               "MeterValuesReceived", "TransactionStopped"]
    started, stopped = seen[2], seen[4]
    assert started.transaction.transaction_id == tid
    tx = started.transaction
    assert (tx.start_seq, tx.mono_ns) == (start.seq, start.mono_ns)
    assert stopped.transaction is started.transaction and stopped.transaction.meter_stop == 200
    assert seen[3].transaction_id == tid and seen[3].meter_value[0]["sampledValue"]
    assert st.session.transaction_started_by(start.seq) is started.transaction
    assert st.session.open_transactions() == [] and st.session.boot_count == 1
    # every frame the station sent is in its PDU log, with the socket stamps of the record
    assert [p.what for p in st.session.pdus_sent(0)] == [
        "BootNotification", "StatusNotification", "StartTransaction", "MeterValues",
        "StopTransaction"]


async def test_transaction_of_awaits_a_delayed_answer_and_says_what_it_saw(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        st = csms.station("CP1")
        st.responders.override("StartTransaction", Delayed(0.2, {
            "transactionId": 77, "idTagInfo": {"status": "Accepted"}}))
        await ws.send(json.dumps([2, "t", "StartTransaction", START]))
        start = await st.expect("StartTransaction", within=5)
        assert st.session.transaction_started_by(start.seq) is None  # not answered yet
        tx = await st.session.transaction_of(start.seq, within=5)  # no polling: the event
        assert tx.transaction_id == 77
        assert json.loads(await ws.recv())[2]["transactionId"] == 77
        with pytest.raises(ExpectTimeout) as e:
            await st.session.transaction_of(start.seq + 1000, within=0.1)
    text = str(e.value)
    assert f"StartTransaction seq {start.seq + 1000}" in text and "77 (StartTransaction seq" in text


async def test_what_the_bench_refused_still_reports_the_station_but_grants_nothing(tmp_path):
    """A CALLERROR answer: the station's status still counts (it will send it again), a
    StartTransaction without the bench's transactionId opens nothing."""
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        st = csms.station("CP1")
        st.responders.override("StatusNotification", CallErrorReply("InternalError", "no"))
        st.responders.override("StartTransaction", CallErrorReply("InternalError", "later"))
        assert (await exchange(ws, [2, "s", "StatusNotification", STATUS]))[0] == 4
        assert (await exchange(ws, [2, "t", "StartTransaction", START]))[0] == 4
        assert st.session.status(1) == "Preparing"
        assert st.session.open_transactions() == []
        # a boot the bench answers Pending is a reboot (statuses forgotten), not an accepted one
        st.responders.override("BootNotification", {"status": "Pending", "interval": 5,
                                                    "currentTime": "2026-11-23T10:00:00Z"})
        await exchange(ws, [2, "b", "BootNotification", BOOT])
        assert st.session.statuses == {} and not st.booted and st.session.boot_count == 1


async def test_response_samples_late_answers_and_a_listener_that_raises(tmp_path):
    async with running_csms(tmp_path, response_timeout_s=0.2) as csms, \
            station_connect(csms) as ws:
        await exchange(ws, [2, "b", "BootNotification", BOOT])
        st = await csms.wait_for_station("CP1", timeout=5)

        def broken(event: ResponseTimed) -> None:
            raise RuntimeError("a follower's bug")

        st.session.subscribe(ResponseTimed, broken)
        csms.record.current_case, csms.record.current_attempt = "TC_X", 2
        task = asyncio.create_task(st.call("ClearCache", {}))
        call = json.loads(await ws.recv())
        await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
        res = await task
        with pytest.raises(TimeoutError):
            await st.call("ClearCache", {})
        late = json.loads(await ws.recv())
        await ws.send(json.dumps([4, late[1], "InternalError", "", {}]))
        await asyncio.sleep(0.1)
        samples = st.session.response_samples()
    assert [(s.action, s.case, s.attempt, s.late, s.error) for s in samples] == [
        ("ClearCache", "TC_X", 2, False, None), ("ClearCache", "TC_X", 2, True, "InternalError")]
    assert samples[0].seconds == res.response_time_s and samples[0].sent_seq == res.frame_seqs[0]
    assert samples[1].seconds > 0.2
    errors = [e for e in events(csms, "log") if e["name"] == "session-listener-error"]
    assert len(errors) == 2 and "a follower's bug" in errors[0]["detail"]["error"]


async def test_the_session_is_bounded_and_counts_what_it_let_go(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "BOOTS_KEPT", 3)
    monkeypatch.setattr(session, "PDUS_KEPT_UNCONFIGURED", 4)
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        for i in range(5):
            await exchange(ws, [2, f"b{i}", "BootNotification", BOOT])
        st = csms.station("CP1")  # admitted by any_station: a short PDU memory
        assert len(st.session.boots) == 3 and st.session.boot_count == 5
        assert len(st.session.pdus_sent(0)) == 4
        assert st.let_go == {"boots": 2, "station_pdus": 1}
    gone = next(e for e in events(csms, "connection") if e["name"] == "disconnected")
    assert gone["detail"]["let_go"] == {"boots": 2, "station_pdus": 1}


# -- the endpoint's layers -----------------------------------------------------------------------

def _imports() -> dict[str, set[str]]:
    """bench.csms module -> the bench.csms modules it imports (anywhere in the file)."""
    files = {".".join(p.relative_to(CSMS_PACKAGE.parents[1]).with_suffix("").parts)
             .removesuffix(".__init__"): p for p in CSMS_PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("bench.csms"):
                for alias in node.names:  # `from pkg import module` depends on the module
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("bench.csms"))
        graph[name] = {d for d in found if d in files and d != name}
    return graph


def test_the_endpoint_imports_downward_only():
    graph = _imports()
    # no cycle among the modules (the package's own __init__ re-exports, it is left out)
    inner = {m: {d for d in deps if d != "bench.csms"} for m, deps in graph.items()
             if m != "bench.csms"}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in inner.get(m, ()):
            assert state.get(d) != 1, f"import cycle: {' -> '.join([*path, m, d])}"
            if d not in state:
                visit(d, [*path, m])
        state[m] = 2

    for m in inner:
        if m not in state:
            visit(m, [])
    # the receive loop knows the station and the link by their ports only
    assert not graph["bench.csms.receiver"] & {"bench.csms.station", "bench.csms.server"}
    assert "bench.csms.server" not in graph["bench.csms.station"]
    assert "bench.csms.station" not in graph["bench.csms.responders"]
    # a version package stands alone: value types and its own modules
    for m in ("bench.csms.ocpp16.framing", "bench.csms.ocpp16.schemas",
              "bench.csms.ocpp16.catalogue"):
        outside = {d for d in graph[m] if not d.startswith("bench.csms.ocpp16")}
        assert outside <= {"bench.csms.messages", "bench.csms.protocol"}, (m, outside)

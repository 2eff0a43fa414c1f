"""The station session API: call, expect, forbid, responders, reconnects, timeouts."""

from __future__ import annotations

import asyncio
import json

import pytest
from test_csms_support import (
    boot,
    eventually,
    exchange,
    findings,
    frames,
    running_csms,
    station_connect,
)
from websockets.exceptions import InvalidStatus

from bench.csms import (
    CallErrorReply,
    CallTimeout,
    CardInfo,
    Delayed,
    ExpectTimeout,
    ForbiddenMessage,
    InvalidOutgoingPayload,
    NoReply,
    StationGone,
)

STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
CARDS = {
    "AA01": CardInfo("AA01", "Accepted", "GROUP"),
    "AA02": CardInfo("AA02", "Blocked"),
    "AA03": CardInfo("AA03", "Expired"),
}


async def test_station_call_while_bench_call_awaits(tmp_path):
    """A station may send its own CALL before answering the bench's: both complete."""
    async with running_csms(tmp_path, cards=CARDS) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        task = asyncio.create_task(st.call("RemoteStartTransaction", {"idTag": "AA01"}))
        call = json.loads(await ws.recv())
        assert call[:3] == [2, call[1], "RemoteStartTransaction"]
        auth = await exchange(ws, [2, "a1", "Authorize", {"idTag": "aa01"}])
        assert auth == [3, "a1", {"idTagInfo": {"status": "Accepted", "parentIdTag": "GROUP"}}]
        await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
        res = await task
        assert res.ok and res.get("status") == "Accepted"
        assert res.response_time_s > 0 and res.answered_mono_ns > res.sent_mono_ns
        rows = {f["seq"]: f for f in frames(csms)}
        assert rows[res.frame_seqs[0]]["action"] == "RemoteStartTransaction"
        assert rows[res.frame_seqs[1]]["msg_type"] == 3
        assert (await st.expect("Authorize", within=1)).payload == {"idTag": "aa01"}


async def test_default_responders_and_session_state(tmp_path):
    async with running_csms(tmp_path, cards=CARDS, heartbeat_interval_s=42) as csms, \
            station_connect(csms) as ws:
        b = await boot(ws)
        assert b[2]["interval"] == 42 and b[2]["currentTime"].endswith("Z")
        for tag, status in (("AA02", "Blocked"), ("AA03", "Expired"), ("FFFF", "Invalid")):
            r = await exchange(ws, [2, "a", "Authorize", {"idTag": tag}])
            assert r[2]["idTagInfo"]["status"] == status
        await exchange(ws, [2, "s", "StatusNotification", STATUS])
        start = {"connectorId": 1, "idTag": "AA01", "meterStart": 100,
                 "timestamp": "2026-11-23T10:00:00Z"}
        t1 = (await exchange(ws, [2, "t1", "StartTransaction", start]))[2]
        t2 = (await exchange(ws, [2, "t2", "StartTransaction", {**start, "connectorId": 2}]))[2]
        assert t2["transactionId"] == t1["transactionId"] + 1
        assert t1["idTagInfo"]["status"] == "Accepted"
        dt = await exchange(ws, [2, "d", "DataTransfer", {"vendorId": "acme"}])
        assert dt[2] == {"status": "UnknownVendorId"}
        assert (await exchange(ws, [2, "h", "Heartbeat", {}]))[2]["currentTime"]
        for action, payload in (("FirmwareStatusNotification", {"status": "Idle"}),
                                ("DiagnosticsStatusNotification", {"status": "Idle"}),
                                ("MeterValues", {"connectorId": 1, "meterValue": [{
                                    "timestamp": "2026-11-23T10:00:00Z",
                                    "sampledValue": [{"value": "1"}]}]})):
            assert (await exchange(ws, [2, "x", action, payload]))[2] == {}
        stop = {"transactionId": t1["transactionId"], "meterStop": 200,
                "timestamp": "2026-11-23T11:00:00Z", "idTag": "AA02"}
        r = await exchange(ws, [2, "t3", "StopTransaction", stop])
        assert r[2] == {"idTagInfo": {"status": "Blocked"}}
        session = csms.station("CP1").session
        assert session.last_boot == {"chargePointVendor": "Acme", "chargePointModel": "DC-50"}
        assert session.status(1) == "Preparing"
        assert [t.transaction_id for t in session.open_transactions()] == [t2["transactionId"]]
        assert session.open_transactions()[0].connector_id == 2
        (finished,) = session.finished_transactions()
        assert (finished.meter_start, finished.meter_stop) == (100, 200)
        assert (csms.record.path / "snapshots" / "station.json").exists()


async def test_responder_overrides(tmp_path):
    async with running_csms(tmp_path) as csms:
        st = csms.station("CP1")
        st.responders.override("BootNotification", lambda p: {
            "status": "Pending", "currentTime": "2026-11-23T10:00:00Z", "interval": 5})
        st.responders.override("StartTransaction", CallErrorReply("InternalError", "try later"))
        st.responders.override("StopTransaction", NoReply())
        st.responders.override("Heartbeat", Delayed(0.2, {"currentTime": "2026-11-23T10:00:00Z"}))
        async with station_connect(csms) as ws:
            assert (await boot(ws))[2]["status"] == "Pending"
            assert not st.booted
            start = {"connectorId": 1, "idTag": "X", "meterStart": 0,
                     "timestamp": "2026-11-23T10:00:00Z"}
            r = await exchange(ws, [2, "t", "StartTransaction", start])
            assert r == [4, "t", "InternalError", "try later", {}]
            await ws.send(json.dumps([2, "st", "StopTransaction", {
                "transactionId": 1, "meterStop": 1, "timestamp": "2026-11-23T10:00:00Z"}]))
            # the delayed Heartbeat answer comes; the StopTransaction never does
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            r = await exchange(ws, [2, "hb", "Heartbeat", {}])
            assert r[1] == "hb" and loop.time() - t0 >= 0.15
            await st.expect("StopTransaction", within=1)
            st.responders.reset()
            assert (await boot(ws, "boot-2"))[2]["status"] == "Accepted"
            assert st.booted
            notes = [f.get("note") for f in frames(csms) if f["action"] == "StopTransaction"]
            assert notes == ["no answer (responder: NoReply)"]


async def test_expect_look_back_after_and_consumption(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        await exchange(ws, [2, "1", "StatusNotification", STATUS])
        await exchange(ws, [2, "2", "StatusNotification", {**STATUS, "status": "Charging"}])
        # look-back finds the second one although it arrived before the expect
        m = await st.expect("StatusNotification", match={"status": "Charging"}, within=1)
        assert m.msg_id == "2" and m.seq > 0
        m1 = await st.expect("StatusNotification", within=1)
        assert m1.msg_id == "1"
        with pytest.raises(ExpectTimeout):  # both consumed
            await st.expect("StatusNotification", within=0.1)
        # `after` ignores what came earlier
        await exchange(ws, [2, "3", "StatusNotification", STATUS])
        mark = st.received("StatusNotification")[0].mono_ns + 1
        waiter = asyncio.create_task(st.expect("StatusNotification", within=2, after=mark))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await exchange(ws, [2, "4", "StatusNotification", {**STATUS, "connectorId": 2}])
        assert (await waiter).msg_id == "4"
        # a predicate in the match
        await exchange(ws, [2, "5", "MeterValues", {"connectorId": 1, "meterValue": [
            {"timestamp": "2026-11-23T10:00:00Z", "sampledValue": [{"value": "12"}]}]}])
        m = await st.expect("MeterValues", match={"meterValue": lambda mv: len(mv) == 1}, within=1)
        assert m.msg_id == "5"


async def test_expect_timeout_message_says_what_and_last_frames(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        await exchange(ws, [2, "1", "StatusNotification", STATUS])
        with pytest.raises(ExpectTimeout) as e:
            await st.expect("StatusNotification", match={"status": "Charging"}, within=0.2)
        text = str(e.value)
        assert "StatusNotification" in text and "status='Charging'" in text and "0.2 s" in text
        assert "Preparing" in text  # the last frames seen


async def test_forbid_window(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        with st.forbid("StatusNotification", match={"status": "Charging"}):
            await exchange(ws, [2, "1", "StatusNotification", STATUS])  # allowed
        with pytest.raises(ForbiddenMessage) as e:
            with st.forbid("StatusNotification", match={"status": "Charging"}):
                await exchange(ws, [2, "2", "StatusNotification", {**STATUS, "status": "Charging"}])
        assert "Charging" in str(e.value)
        assert findings(csms).count("forbidden-message") == 1
        # also when the block raised something else: the forbidden message wins, cause kept
        with pytest.raises(ForbiddenMessage) as e:
            async with st.forbid("Heartbeat"):
                await exchange(ws, [2, "3", "Heartbeat", {}])
                raise RuntimeError("case failed otherwise")
        assert isinstance(e.value.__context__, RuntimeError)
        # a closed window no longer watches
        await exchange(ws, [2, "4", "StatusNotification", {**STATUS, "status": "Charging"}])
        assert findings(csms).count("forbidden-message") == 2


async def test_call_timeout_and_late_answer(tmp_path):
    async with running_csms(tmp_path, response_timeout_s=0.2) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        with pytest.raises(CallTimeout) as e:
            await st.call("ClearCache", {})
        assert "ClearCache" in str(e.value) and "0.2 s" in str(e.value)
        call = json.loads(await ws.recv())
        await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
        await eventually(lambda: "late-answer" in findings(csms), what="late-answer finding")
        # a per-call timeout overrides the setting; the bench serialises its CALLs
        results = []

        async def station_side():
            for _ in range(2):
                c = json.loads(await ws.recv())
                results.append(c[2])
                await ws.send(json.dumps([3, c[1], {"status": "Accepted"}]))

        side = asyncio.create_task(station_side())
        a, b = await asyncio.gather(st.call("ClearCache", {}, timeout=2),
                                    st.call("ClearCache", {}, timeout=2))
        await side
        assert a.ok and b.ok and a.msg_id != b.msg_id and b.sent_mono_ns > a.answered_mono_ns


async def test_outgoing_validation(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        with pytest.raises(InvalidOutgoingPayload):
            await st.call("RemoteStartTransaction", {"idTag": 5})
        task = asyncio.create_task(st.call("RemoteStartTransaction", {"idTag": 5}, validate=False))
        call = json.loads(await ws.recv())
        assert call[3] == {"idTag": 5}
        await ws.send(json.dumps([4, call[1], "TypeConstraintViolation", "idTag", {}]))
        res = await task
        assert res.error.code == "TypeConstraintViolation"
        out = next(f for f in frames(csms) if f["seq"] == res.frame_seqs[0])
        assert out["schema"].startswith("invalid: TypeConstraintViolation")


async def test_disconnect_mid_call_raises_station_gone(tmp_path):
    async with running_csms(tmp_path) as csms:
        async with station_connect(csms) as ws:
            await boot(ws)
            st = await csms.wait_for_station("CP1", timeout=2)
            task = asyncio.create_task(st.call("Reset", {"type": "Soft"}))
            await ws.recv()
        with pytest.raises(StationGone) as e:
            await task
        assert "Reset" in str(e.value)
        with pytest.raises(StationGone):
            await st.call("Reset", {"type": "Soft"})


async def test_disconnect_refuses_then_reconnects_same_session(tmp_path):
    async with running_csms(tmp_path) as csms:
        async with station_connect(csms) as ws:
            await boot(ws)
            st = await csms.wait_for_station("CP1", timeout=2)
            await st.disconnect(refuse_for=0.5)
            assert not st.connected
        with pytest.raises(InvalidStatus) as e:
            async with station_connect(csms):
                pass
        assert e.value.response.status_code == 503
        waiter = asyncio.create_task(st.wait_reconnected(timeout=5))
        pending_expect = asyncio.create_task(st.expect("StatusNotification", within=5))
        await asyncio.sleep(0.6)
        async with station_connect(csms) as ws:
            await waiter
            assert csms.station("CP1") is st and st.generation == 2
            await exchange(ws, [2, "1", "StatusNotification", STATUS])
            assert (await pending_expect).msg_id == "1"  # expect across the reconnect
            # booted earlier on this session: wait_for_station(boot=True) returns at once
            assert await csms.wait_for_station("CP1", timeout=1) is st
        cuts = [line for line in (csms.record.path / "events.jsonl").read_text().splitlines()
                if '"cut"' in line]
        assert len(cuts) == 1


async def test_wait_for_station_timeout_message(tmp_path):
    async with running_csms(tmp_path) as csms:
        with pytest.raises(ExpectTimeout) as e:
            await csms.wait_for_station("NOPE", timeout=0.1)
        assert "NOPE" in str(e.value) and "BootNotification" in str(e.value)


async def test_same_identity_reconnecting_replaces_the_old_socket(tmp_path):
    async with running_csms(tmp_path) as csms:
        async with station_connect(csms) as old:
            await boot(old)
            async with station_connect(csms) as new:
                await eventually(lambda: csms.station("CP1").generation == 2, what="gen 2")
                assert (await exchange(new, [2, "h", "Heartbeat", {}]))[0] == 3
                st = csms.station("CP1")
                assert st.connected
        await eventually(lambda: not csms.station("CP1").connected, what="disconnect")


async def test_broken_and_async_responders(tmp_path):
    async with running_csms(tmp_path) as csms:
        st = csms.station("CP1")

        def broken(payload):
            raise KeyError("bench bug")

        async def slow_answer(payload):
            await asyncio.sleep(0.05)
            return {"status": "Accepted", "data": payload.get("data", "")}

        st.responders.override("Heartbeat", broken)
        st.responders.override("DataTransfer", slow_answer)
        async with station_connect(csms) as ws:
            r = await exchange(ws, [2, "h", "Heartbeat", {}])
            assert r[:3] == [4, "h", "InternalError"]
            r = await exchange(ws, [2, "d", "DataTransfer", {"vendorId": "v", "data": "ping"}])
            assert r == [3, "d", {"status": "Accepted", "data": "ping"}]
            # the receive loop kept going meanwhile and the default comes back on reset
            st.responders.reset("Heartbeat")
            assert (await exchange(ws, [2, "h2", "Heartbeat", {}]))[0] == 3
        errors = [line for line in (csms.record.path / "events.jsonl").read_text().splitlines()
                  if "responder-error" in line]
        assert len(errors) == 1 and "bench bug" in errors[0]

"""Every CALLERROR path and every kind of malformed frame, over a real websocket."""

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

from bench.record.reader import frame_raw

BOOT_OK = {"chargePointVendor": "Acme", "chargePointModel": "DC-50"}


@pytest.mark.parametrize(("frame", "code", "finding"), [
    ('[2,"e1","BootNotification",{"chargePointVendor":"A"', "FormationViolation", "frame-not-json"),
    ([2, "e1", "Teleport", {}], "NotImplemented", "unknown-action"),
    ([2, "e1", "Reset", {"type": "Soft"}], "NotSupported", "action-wrong-direction"),
    ([2, "e1", "BootNotification"], "ProtocolError", "call-wrong-length"),
    ([7, "e1", "Heartbeat", {}], "ProtocolError", "unknown-message-type"),
    ([2, "e1", 5, {}], "FormationViolation", "action-not-string"),
    ([2, "e1", "Heartbeat", []], "FormationViolation", "schema-violation"),
    ([2, "e1", "BootNotification", {**BOOT_OK, "extra": 1}],
     "FormationViolation", "schema-violation"),
    ([2, "e1", "BootNotification", {"chargePointVendor": "A"}],
     "OccurenceConstraintViolation", "schema-violation"),
    ([2, "e1", "BootNotification", {"chargePointVendor": 1, "chargePointModel": "M"}],
     "TypeConstraintViolation", "schema-violation"),
    ([2, "e1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                      "status": "Dancing"}],
     "PropertyConstraintViolation", "schema-violation"),
    ([2, "e1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                      "status": "Available", "timestamp": "noon"}],
     "PropertyConstraintViolation", "schema-violation"),
])
async def test_callerror_codes(tmp_path, frame, code, finding):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        answer = await exchange(ws, frame)
        assert answer[:3] == [4, "e1", code]
        assert isinstance(answer[3], str) and answer[4] == {}
        await eventually(lambda: finding in findings(csms), what=finding)
        # the connection and the server are fine afterwards
        assert (await boot(ws))[2]["status"] == "Accepted"
        inbound = [f for f in frames(csms) if f["direction"] == "in"]
        # a known action sent the wrong way has a valid payload: only the direction is wrong
        expected_verdict = "ok" if code == "NotSupported" else f"invalid: {code}"
        assert inbound[0]["schema"].startswith(expected_verdict)
        assert inbound[1]["schema"] == "ok"


async def test_security_whitepaper_actions_are_answered(tmp_path):
    """The endpoint takes the Security whitepaper's station actions (docs/security.md)."""
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        answer = await exchange(ws, [2, "s1", "SecurityEventNotification",
                                     {"type": "FirmwareUpdated",
                                      "timestamp": "2026-11-23T10:00:00Z"}])
        assert answer == [3, "s1", {}]
        answer = await exchange(ws, [2, "s2", "SignCertificate", {"csr": "-----BEGIN"}])
        assert answer == [3, "s2", {"status": "Accepted"}]
        answer = await exchange(ws, [2, "s3", "LogStatusNotification", {"status": "Bogus"}])
        assert answer[:3] == [4, "s3", "PropertyConstraintViolation"]


async def test_unanswerable_frames_are_recorded_and_not_fatal(tmp_path):
    async with running_csms(tmp_path, max_frame_bytes=1024) as csms, station_connect(csms) as ws:
        await ws.send("garbage without id")
        await ws.send('{"not": "an array"}')
        await ws.send(json.dumps([3, "never-asked", {}]))
        await ws.send(json.dumps([4, "never-asked", "GenericError", "", {}]))
        # binary frame carrying a readable CALL: answered FormationViolation
        answer = await exchange(ws, json.dumps([2, "b1", "Heartbeat", {}]).encode())
        assert answer[:3] == [4, "b1", "FormationViolation"]
        # oversized (over max_frame_bytes, under the library's limit): answered, recorded
        big = json.dumps([2, "big1", "DataTransfer", {"vendorId": "x", "data": "y" * 5000}])
        answer = await exchange(ws, big)
        assert answer[:3] == [4, "big1", "GenericError"]
        assert (await boot(ws))[2]["status"] == "Accepted"
        expected = ["frame-not-json", "frame-not-array", "unexpected-answer",
                    "unexpected-answer", "binary-frame", "frame-too-large"]
        await eventually(lambda: findings(csms) == expected, what=f"findings {expected}")
        # recorded whole (losslessly), like every frame; the binary one as its bytes
        oversized = next(f for f in frames(csms) if f.get("note") == "frame-too-large")
        assert oversized["raw"] == big and oversized["msg_id"] is None
        binary = next(f for f in frames(csms) if f.get("note") == "binary-frame")
        assert binary["raw_encoding"] == "base64"
        assert frame_raw(binary) == json.dumps([2, "b1", "Heartbeat", {}]).encode()


async def test_frame_over_the_library_limit_closes_only_that_connection(tmp_path):
    async with running_csms(tmp_path, max_frame_bytes=1024) as csms:
        async with station_connect(csms, "CP1") as ws:
            await ws.send("x" * (2 << 20))
            with pytest.raises(Exception):  # noqa: B017  closed with 1009 by the server
                await asyncio.wait_for(ws.recv(), 5)
        await eventually(lambda: "frame-too-large" in findings(csms), what="finding")
        async with station_connect(csms, "CP2") as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"


async def test_numeric_message_id_is_a_finding_and_answered(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        answer = await exchange(ws, [2, 12, "Heartbeat", {}])
        assert answer[0] == 3 and answer[1] == 12 and "currentTime" in answer[2]
        await eventually(lambda: "msg-id-not-string" in findings(csms), what="finding")


async def test_callresult_of_the_station_is_validated(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        task = asyncio.create_task(st.call("ClearCache", {}))
        call = json.loads(await ws.recv())
        await ws.send(json.dumps([3, call[1], {"status": "Maybe"}]))
        res = await task
        assert res.ok and res.schema.startswith("invalid: PropertyConstraintViolation")
        await eventually(lambda: "callresult-schema-violation" in findings(csms), what="finding")


async def test_callerror_from_the_station(tmp_path):
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        await boot(ws)
        st = await csms.wait_for_station("CP1", timeout=2)
        task = asyncio.create_task(st.call("ClearCache", {}))
        call = json.loads(await ws.recv())
        await ws.send(json.dumps([4, call[1], "FormatViolation", "nope", {}]))  # 2.0.1 spelling
        res = await task
        assert not res.ok
        assert (res.error.code, res.error.description) == ("FormatViolation", "nope")
        assert res.frame_seqs[0] < res.frame_seqs[1]
        await eventually(lambda: "callerror-unknown-code" in findings(csms), what="finding")

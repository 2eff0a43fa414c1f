"""Hostile station ids and text, several stations at once, bounded sessions, bench faults.

Station ids are refused by the rules of bench/csms/identity.py (each refusal recorded); text a
station controls is escaped on the `bench serve` console and in the report; each station keeps
its own snapshot; a session's memory is bounded with counts of what was let go; a bench error
while handling a frame answers InternalError and keeps the link.
"""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from test_csms_support import BOOT, bench_serve, boot, events, eventually, exchange, running_csms

from bench.csms import server, session, station, windows
from bench.csms.identity import MAX_IDENTITY_CHARS
from bench.csms.rawws import HandshakeRefused, RawWs
from bench.record.reader import load_run
from reports import build_reports

HOSTILE = "\x00\x07\x1b\u202e"  # NUL, BEL, ESC, RIGHT-TO-LEFT OVERRIDE


@pytest.mark.parametrize(("path_id", "why"), [
    ("%FF%FE", "not UTF-8"),
    ("%FF%FD", "not UTF-8"),  # not the same "\ufffd\ufffd" id as the one above: refused too
    ("CP%2F1", "'/' sent as %2F"),
    ("CP%zz", "malformed percent-escape"),
    ("CP%00", "non-printable character \\x00"),
    ("CP%0D%0AFORGED", "non-printable character \\x0d"),
    ("CP%1B%5B2J", "non-printable character \\x1b"),
    ("%E2%80%AECP", "non-printable character \\u202e"),
    ("X" * (MAX_IDENTITY_CHARS + 1), f"at most {MAX_IDENTITY_CHARS}"),
])
async def test_hostile_station_ids_are_refused_and_recorded(tmp_path, path_id, why):
    async with running_csms(tmp_path) as csms:
        with pytest.raises(HandshakeRefused) as e:
            await RawWs.open("127.0.0.1", csms.port, f"/ocpp/{path_id}")
        assert e.value.status == 400 and why in e.value.body.decode()
        await eventually(lambda: events(csms, "handshake"), what="the refusal")
        (refusal,) = events(csms, "handshake")
        assert refusal["name"] == "refused" and refusal["detail"]["status"] == 400
        assert why in refusal["detail"]["reason"] and refusal["detail"]["station"] is None
        assert csms.stations == {}


async def test_longest_id_and_percent_encoded_text_are_taken(tmp_path):
    async with running_csms(tmp_path) as csms:
        longest = "L" * MAX_IDENTITY_CHARS
        for path_id, sid in ((longest, longest), ("CP%201", "CP 1"), ("%C3%9Cber", "Über")):
            async with await RawWs.open("127.0.0.1", csms.port, f"/ocpp/{path_id}") as ws:
                await ws.send_text(json.dumps([2, "b", "BootNotification", BOOT]))
                assert json.loads(await ws.recv_text())[2]["status"] == "Accepted"
            assert sid in csms.stations


async def test_bench_serve_console_shows_station_text_escaped(tmp_path):
    async with bench_serve(tmp_path) as (proc, url):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(HandshakeRefused):
            await RawWs.open("127.0.0.1", port, "/ocpp/CP%1B%5B2J%0D%0Aforged")
        async with await RawWs.open("127.0.0.1", port, "/ocpp/CP7") as ws:
            await ws.send_text(json.dumps([2, "b1", "BootNotification", {
                "chargePointVendor": "\u202eevil", "chargePointModel": "M"}],
                ensure_ascii=False))
            await ws.recv_text()
            await ws.send_text(f'[2,"b2",\r\n"DataTransfer",{{"vendorId":"{HOSTILE}"}}]')
            await ws.recv_text()
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            out, _ = await proc.communicate()
    assert proc.returncode == 0
    for raw_char in (*HOSTILE, "\r"):
        assert raw_char.encode() not in out
    text = out.decode()
    assert "holds the non-printable character \\x1b at position 2" in text  # the refusal
    assert '"chargePointVendor": "\\u202eevil"' in text
    b2 = [line for line in text.splitlines() if '"b2"' in line and "<-" in line]
    assert len(b2) == 1 and '\\x0d\\x0a"DataTransfer"' in b2[0] and "\\x00\\x07\\x1b" in b2[0]


async def test_report_shows_control_and_bidi_characters_escaped(tmp_path):
    async with running_csms(tmp_path) as csms:
        csms.record.current_case = "TC_HOSTILE"
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1") as ws:
            await ws.send_text(json.dumps([2, "h1", "DataTransfer", {
                "vendorId": "acme", "data": "\u202e)gnp.exe"}], ensure_ascii=False))
            await ws.recv_text()
            await ws.send_text(f'[2,"h2","DataTransfer",{{"vendorId":"{HOSTILE}"}}]')
            await ws.recv_text()
        run_dir = csms.record.path
    html = build_reports(run_dir).read_text("utf-8")
    for raw_char in HOSTILE:
        assert raw_char not in html
    assert "\\u202e)gnp.exe" in html and "\\x00\\x07\\x1b\\u202e" in html


async def test_each_station_keeps_its_own_snapshot(tmp_path):
    async with running_csms(tmp_path, stations={"CP1": None}) as csms:
        for sid in ("CP2", "CP1", "CP.1", "CP_1"):
            async with await RawWs.open("127.0.0.1", csms.port, f"/ocpp/{sid}") as ws:
                await ws.send_text(json.dumps([2, "b", "BootNotification", {
                    "chargePointVendor": sid, "chargePointModel": "M"}]))
                await ws.recv_text()
        # a lone surrogate in the payload still gives a readable snapshot, no temp file left
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP9") as ws:
            await ws.send_text('[2,"b","BootNotification",'
                               '{"chargePointVendor":"\\ud800","chargePointModel":"M"}]')
            assert json.loads(await ws.recv_text())[2]["status"] == "Accepted"
            await exchange_text(ws, '[2,"h","Heartbeat",{}]')  # the link is still up
        run_dir = csms.record.path
    run = load_run(run_dir)
    snaps = run.snapshots
    assert snaps["station"]["id"] == "CP1"  # the configured station, though CP2 booted first
    assert snaps["station-CP2"]["chargePointVendor"] == "CP2"
    assert snaps["station-CP_00002e1"]["id"] == "CP.1"  # names never collide
    assert snaps["station-CP_00005f1"]["id"] == "CP_1"
    assert snaps["station-CP9"]["chargePointVendor"] == "\\ud800"
    assert not list((run_dir / "snapshots").glob("*.tmp"))


async def exchange_text(ws: RawWs, text: str) -> list:
    await ws.send_text(text)
    return json.loads(await ws.recv_text())


async def test_session_memory_is_bounded_and_what_is_let_go_is_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(station, "FINDINGS_KEPT", 10)
    monkeypatch.setattr(windows, "INBOX_LIMIT", 20)
    monkeypatch.setattr(session, "CONNECTORS_KEPT", 4)
    monkeypatch.setattr(server, "MAX_SESSIONS", 5)
    async with running_csms(tmp_path) as csms:
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1") as ws:
            for i in range(30):
                ws.write_text(f'[2,"bad{i}","Teleport",{{}}]')  # a finding each
            for i in range(40):
                ws.write_text(f'[2,"h{i}","Heartbeat",{{}}]')  # unconsumed: the inbox
            for i in range(10):
                ws.write_text(json.dumps([2, f"s{i}", "StatusNotification", {
                    "connectorId": i, "errorCode": "NoError", "status": "Available"}]))
            await ws.drain()
            for _ in range(80):
                await ws.recv_text()
            st = csms.stations["CP1"]
            assert len(st.findings) == 10 and st.finding_counts["unknown-action"] == 30
            assert len(st.received()) == 20 and len(st.session.statuses) == 4
            # 40 Heartbeats and 10 StatusNotifications wait in an inbox of 20
            assert st.let_go == {"findings": 20, "inbox": 30, "connector_status": 6}
        for i in range(8):
            async with await RawWs.open("127.0.0.1", csms.port, f"/ocpp/X{i}"):
                pass
            await eventually(lambda i=i: not csms.stations[f"X{i}"].connected, what="close")
        assert len(csms.stations) == 5 and csms.let_go["sessions"] == 4
    run = load_run(csms.record.path)
    cp1_gone = next(e for e in run.events if e["name"] == "disconnected"
                    and e["detail"]["station"] == "CP1")
    assert cp1_gone["detail"]["let_go"] == {"findings": 20, "inbox": 30, "connector_status": 6}
    stopped = next(e for e in run.events if e["name"] == "stopped")
    assert stopped["detail"]["let_go"]["sessions"] == 4
    assert len([f for f in run.frames if f["direction"] == "in"]) == 80  # the record keeps all


async def test_a_bench_error_mid_frame_answers_internal_error_and_keeps_the_link(
        tmp_path, monkeypatch):
    from bench.csms.ocpp16 import OCPP16

    real_check = OCPP16.check_request

    def broken_check(action, payload):
        if action == "Authorize":
            raise RuntimeError("bench bug")
        return real_check(action, payload)

    monkeypatch.setattr(OCPP16, "check_request", broken_check)
    async with running_csms(tmp_path) as csms, \
            (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1")) as ws:
        answer = await exchange_text(ws, '[2,"a1","Authorize",{"idTag":"04A1"}]')
        assert answer[:3] == [4, "a1", "InternalError"]
        assert (await exchange_text(ws, '[2,"h1","Heartbeat",{}]'))[0] == 3
        await eventually(lambda: any(e["name"] == "frame-handling-error"
                                     for e in events(csms, "log")), what="the log event")
        rows = [json.loads(line) for line in
                (csms.record.path / "frames.jsonl").read_text().splitlines()]
    assert [(r["direction"], r["msg_id"]) for r in rows] == [
        ("in", "a1"), ("out", "a1"), ("in", "h1"), ("out", "h1")]
    assert "bench error" in rows[0]["note"]


async def test_boot_through_the_library_client_still_works(tmp_path):
    """The hardened endpoint keeps serving an ordinary websockets client."""
    from test_csms_support import station_connect

    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        assert (await boot(ws))[2]["status"] == "Accepted"
        assert (await exchange(ws, [2, "h", "Heartbeat", {}]))[0] == 3


async def test_frames_that_break_rfc6455_end_only_that_link_and_are_recorded(tmp_path):
    """Invalid UTF-8 in a text frame or an unmasked client frame: the websocket library must
    fail the connection (RFC 6455 §5.1, §8.1) and never hands the frame over; the record
    says what happened, and the endpoint serves the next station."""
    from bench.csms.rawws import TEXT

    async with running_csms(tmp_path) as csms:
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1") as ws:
            ws.write_text(b'[2,"u1","Heartbeat",{"x":"\xff\xfe"}]')
            await ws.drain()
            opcode, _ = await ws.recv()
            assert opcode == 0x8 and ws.close_code == 1007
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP2") as ws:
            ws.writer.write(bytes([0x80 | TEXT, 2]) + b"[]")  # not masked
            await ws.drain()
            opcode, _ = await ws.recv()
            assert opcode == 0x8 and ws.close_code == 1002
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP3") as ws:
            assert (await exchange_text(ws, '[2,"h","Heartbeat",{}]'))[0] == 3
        await eventually(lambda: {"frame-not-utf8", "websocket-protocol-error"}
                         <= {e["name"] for e in events(csms, "finding")}, what="findings")


async def test_the_endpoint_wide_inbox_budget_spares_connected_stations(tmp_path, monkeypatch):
    heartbeat = '[2,"h00","Heartbeat",{}]'
    weight = len(heartbeat) + windows.MESSAGE_OVERHEAD
    monkeypatch.setattr(windows, "TOTAL_INBOX_BYTES", 20 * weight)
    async with running_csms(tmp_path, stations={"CP1": None}) as csms:
        async def flood(sid: str, n: int) -> None:
            async with await RawWs.open("127.0.0.1", csms.port, f"/ocpp/{sid}") as ws:
                for i in range(n):
                    ws.write_text(f'[2,"h{i:02d}","Heartbeat",{{}}]')
                await ws.drain()
                for _ in range(n):
                    await ws.recv_text()

        await flood("GONE", 15)  # an unconfigured station that left: nobody waits for it
        await eventually(lambda: not csms.stations["GONE"].connected, what="GONE closed")
        async with await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1") as ws:
            for i in range(15):
                await exchange_text(ws, f'[2,"h{i:02d}","Heartbeat",{{}}]')
            cp1 = csms.stations["CP1"]
            assert len(cp1.received()) == 15 and csms.stations["GONE"].received() == []
            assert csms.stations["GONE"].let_go == {"inbox": 15}
            for i in range(15, 40):  # now CP1 itself floods: it gives up its own oldest
                await exchange_text(ws, f'[2,"h{i:02d}","Heartbeat",{{}}]')
            assert len(cp1.received()) == 20 and cp1.received()[0].msg_id == "h20"
            assert csms.inbox_budget.used <= csms.inbox_budget.limit

"""The bench's own transport: frames stamped where their bytes reached the socket (the
kernel's receive stamp), CALLs stamped as they are handed to the kernel, TLS in memory,
fragments, keepalive pings, close codes and a station that stops reading.

The blocked-loop tests hold the bench's event loop on purpose while a station in a thread of
its own sends: a stamp taken where the bytes arrived lies before the loop could read them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import struct
import sys
import threading
import time

import pytest
from pki_support import make_pki
from test_csms_support import BOOT, ThreadStation, events, eventually, findings, running_csms

from bench.csms import CallTimeout, server, stamps
from bench.csms.rawws import CLOSE, PING, RawWs, encode_frame
from bench.record.reader import load_run

KEY = bytes.fromhex("00112233445566778899aabbccddeeff01020304")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="kernel receive stamps (SO_TIMESTAMPNS) are Linux's")


async def thread_station(port: int, path: str = "/ocpp/CP1", **kw) -> ThreadStation:
    station = await asyncio.to_thread(ThreadStation.open, port, path, **kw)
    station.send_text(json.dumps([2, "boot", "BootNotification", BOOT]))
    answer, _ = await asyncio.to_thread(station.recv_text)
    assert json.loads(answer)[2]["status"] == "Accepted"
    return station


async def sent_while_the_loop_was_blocked(station: ThreadStation, text: str) -> tuple[int, int]:
    """(the station's send stamp, the moment the loop ran again): the bench's loop is held
    until the station's bytes are in the kernel."""
    sent = threading.Event()
    stamp: list[int] = []

    def send() -> None:
        stamp.append(station.send_text(text))
        sent.set()

    threading.Thread(target=send, daemon=True).start()
    assert sent.wait(10), "the station thread did not send"  # blocks the loop on purpose
    time.sleep(0.05)  # noqa: ASYNC251  # the bytes wait in the socket, the loop cannot read
    return stamp[0], time.monotonic_ns()


@linux_only
async def test_a_frame_is_stamped_where_it_reached_the_socket(tmp_path):
    async with running_csms(tmp_path) as csms:
        station = await thread_station(csms.port)
        try:
            st = await csms.wait_for_station("CP1", timeout=5)
            assert st.stamp_source.startswith("kernel (SO_TIMESTAMPNS")
            sent_ns, resumed_ns = await sent_while_the_loop_was_blocked(
                station, json.dumps([2, "h1", "Heartbeat", {}]))
            msg = await st.expect("Heartbeat", within=5)
            # the loop read the frame only after resumed_ns; its stamp is from before
            assert sent_ns <= msg.mono_ns < resumed_ns
            answer, _ = await asyncio.to_thread(station.recv_text)
            assert json.loads(answer)[1] == "h1"
        finally:
            station.close()
        run = load_run(csms.record.path)
    line = next(f for f in run.frames if f["msg_id"] == "h1" and f["direction"] == "in")
    assert line["mono_ns"] == msg.mono_ns  # the record keeps the socket's stamp
    connected = next(e for e in run.events if e["name"] == "connected")
    assert connected["detail"]["stamps"].startswith("kernel")


@linux_only
async def test_tls_plaintext_carries_the_stamp_of_its_bytes(tmp_path):
    pki = make_pki(tmp_path / "pki", {"server": ("127.0.0.1", "127.0.0.1")})
    client = ssl.create_default_context(cafile=str(pki["ca"]))
    basic = {"Authorization": "Basic " + base64.b64encode(b"CP1:" + KEY).decode()}
    async with running_csms(tmp_path, security_profile=2, stations={"CP1": KEY},
                            tls_cert=pki["server"], tls_key=pki["server"].with_suffix(".key"),
                            tls_ca=pki["ca"]) as csms:
        assert csms.url.startswith("wss://")
        station = await thread_station(csms.port, headers=basic, ssl_context=client)
        try:
            st = await csms.wait_for_station("CP1", timeout=5)
            sent_ns, resumed_ns = await sent_while_the_loop_was_blocked(
                station, json.dumps([2, "h1", "Heartbeat", {}]))
            msg = await st.expect("Heartbeat", within=5)
            assert sent_ns <= msg.mono_ns < resumed_ns
        finally:
            station.close()


@linux_only
async def test_a_call_is_stamped_before_the_station_has_it_and_its_answer_after(tmp_path):
    async with running_csms(tmp_path) as csms:
        station = await thread_station(csms.port)
        try:
            st = await csms.wait_for_station("CP1", timeout=5)

            def answer() -> tuple[int, int]:
                text, arrived_ns = station.recv_text()
                return arrived_ns, station.send_text(json.dumps(
                    [3, json.loads(text)[1], {"status": "Accepted"}]))

            side = asyncio.create_task(asyncio.to_thread(answer))
            res = await st.call("ClearCache", {}, timeout=10)
            arrived_ns, answered_ns = await side
        finally:
            station.close()
        # handed to the kernel before the station's kernel had it; the answer stamped after
        # the station's send: the response time holds no bench loop on either side
        assert res.sent_mono_ns <= arrived_ns <= answered_ns <= res.answered_mono_ns
        out = next(f for f in load_run(csms.record.path).frames if f["seq"] == res.frame_seqs[0])
        assert out["mono_ns"] == res.sent_mono_ns


async def test_a_fragmented_call_is_answered_once_when_whole(tmp_path):
    async with running_csms(tmp_path) as csms, \
            (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1")) as ws:
        text = json.dumps([2, "frag", "Authorize", {"idTag": "04A1"}])
        ws.write_text(text, fragments=3)
        await ws.drain()
        assert json.loads(await ws.recv_text())[1] == "frag"
        await eventually(lambda: len([f for f in load_run(csms.record.path).frames
                                      if f["msg_id"] == "frag"]) == 2, what="both frames")
        (inbound,) = [f for f in load_run(csms.record.path).frames
                      if f["msg_id"] == "frag" and f["direction"] == "in"]
    assert inbound["raw"] == text


async def test_keepalive_pings_close_a_station_that_never_answers_them(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "PING_TIMEOUT_S", 0.3)
    async with running_csms(tmp_path, ping_interval_s=0.2) as csms:
        # the library client answers pings: it stays up over several intervals
        async with (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1")) as polite:
            for i in range(3):
                await asyncio.sleep(0.3)
                await polite.send_text(json.dumps([2, f"h{i}", "Heartbeat", {}]))
                assert json.loads(await polite.recv_text())[1] == f"h{i}"
        # a raw reader that never pongs: closed with 1011 once the pong is overdue
        deaf = await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP2")
        try:
            opcode, payload = await deaf._read_frame()
            assert opcode == PING
            while opcode != CLOSE:
                opcode, payload = await asyncio.wait_for(deaf._read_frame(), 5)
            assert struct.unpack("!H", payload[:2])[0] == 1011
            assert b"keepalive ping timeout" in payload
        finally:
            deaf.writer.close()
        await eventually(lambda: not csms.stations["CP2"].connected, what="CP2 closed")
    gone = [e for e in events(csms, "connection") if e["name"] == "disconnected"]
    assert [e["detail"]["station"] for e in gone] == ["CP1", "CP2"]
    assert gone[1]["detail"]["reason"].startswith("closed by bench: code 1011")


async def test_a_station_closing_with_1002_is_not_a_framing_finding(tmp_path):
    """The bench echoes the station's close code; only a link the bench failed itself says
    the station broke the framing."""
    async with running_csms(tmp_path) as csms:
        async with (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1")) as ws:
            await ws.close(1002)
            assert ws.close_code == 1002
        await eventually(lambda: not csms.stations["CP1"].connected, what="CP1 closed")
        assert "websocket-protocol-error" not in findings(csms)
        async with (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP2")) as ws:
            ws.writer.write(encode_frame(0x3, b"reserved opcode"))  # the bench fails it
            await ws.drain()
            await ws.recv()
            assert ws.close_code == 1002
        await eventually(lambda: "websocket-protocol-error" in findings(csms), what="finding")
    reasons = [e["detail"]["reason"] for e in events(csms, "connection")
               if e["name"] == "disconnected"]
    assert reasons[0] == "closed by station: code 1002 ''"


async def test_a_station_that_stops_reading_times_the_call_out_at_the_socket(tmp_path):
    """The bench's CALLs pile up in the socket of a station that reads nothing: the CALL that
    cannot be handed over fails with a CallTimeout saying so, and the link stays usable."""
    async with running_csms(tmp_path) as csms, \
            (await RawWs.open("127.0.0.1", csms.port, "/ocpp/CP1")) as ws:
        ws.writer.transport.pause_reading()
        await ws.send_text(json.dumps([2, "b", "BootNotification", BOOT]))
        st = await csms.wait_for_station("CP1", timeout=5)
        big = {"vendorId": "bench", "data": "x" * (1 << 20)}
        with pytest.raises(CallTimeout) as e:
            for _ in range(64):  # the kernel's buffers hold a few MB at most
                with pytest.raises(CallTimeout):
                    await st.call("DataTransfer", big, timeout=0.3)
                if st.link.transport.write_buffer_size:
                    await st.call("DataTransfer", big, timeout=0.3)
        assert "could not be handed to the socket" in str(e.value)
        ws.writer.transport.resume_reading()
        assert json.loads(await ws.recv_text(timeout=10))[0] == 3  # the boot's answer first


def test_realtime_stamps_convert_to_monotonic_and_follow_a_clock_step(monkeypatch):
    clock = stamps.RealtimeToMonotonic(resample_s=0.0)  # sample at every conversion
    now = time.monotonic_ns()
    rt = clock.current.offset_ns + now - 1_000_000  # a realtime stamp 1 ms ago
    assert abs(clock.to_monotonic(rt, now) - (now - 1_000_000)) < 1_000_000
    assert clock.current.half_width_ns < 1_000_000
    # the wall clock steps 10 s ahead (settimeofday): the next sample follows it
    real = stamps._realtime_ns
    monkeypatch.setattr(stamps, "_realtime_ns", lambda: real() + 10_000_000_000)
    now = time.monotonic_ns()
    stepped = clock.refresh(now)
    assert clock.largest_step_ns >= 9_000_000_000
    assert abs(clock.to_monotonic(stepped.offset_ns + now, now) - now) < 1_000_000
    # a stamp that would convert after its read is impossible: clamped, and counted
    assert clock.to_monotonic(stepped.offset_ns + now + 5_000_000_000, now) == now
    assert clock.clamped == 1

"""What the endpoint writes into the run record, and `bench serve` as a real process."""

from __future__ import annotations

import asyncio
import json
import signal

from test_csms_support import (
    BOOT,
    bench_serve,
    boot,
    eventually,
    exchange,
    running_csms,
    station_connect,
)
from websockets.asyncio.client import connect

from bench.record.reader import load_run


async def test_frames_events_and_verdicts_in_the_record(tmp_path):
    async with running_csms(tmp_path) as csms:
        async with station_connect(csms) as ws:
            await boot(ws)
            await exchange(ws, [2, "bad", "BootNotification", {"chargePointVendor": "A"}])
        path = csms.record.path
    run = load_run(path)
    assert run.meta["status"] == "complete"
    ins = [f for f in run.frames if f["direction"] == "in"]
    outs = [f for f in run.frames if f["direction"] == "out"]
    assert [f["msg_id"] for f in ins] == ["boot-1", "bad"]
    assert ins[0]["schema"] == "ok" and ins[1]["schema"].startswith(
        "invalid: OccurenceConstraintViolation")
    assert json.loads(ins[0]["raw"]) == [2, "boot-1", "BootNotification", BOOT]
    for f in run.frames:
        assert f["station"] == "CP1" and isinstance(f["mono_ns"], int) and f["utc"].endswith("Z")
    # each answer left after its CALL arrived, and is recorded after it
    for i, o in zip(ins, outs, strict=True):
        assert o["mono_ns"] > i["mono_ns"] and o["seq"] > i["seq"] and o["msg_id"] == i["msg_id"]
    assert outs[0]["action"] == "BootNotification" and outs[0]["msg_type"] == 3
    finding = next(e for e in run.events if e["kind"] == "finding")
    assert finding["name"] == "schema-violation" and finding["detail"]["frame_seq"] == ins[1]["seq"]
    kinds = [(e["kind"], e["name"]) for e in run.events]
    assert ("handshake", "accepted") in kinds and ("connection", "disconnected") in kinds


async def test_bench_serve_prints_records_and_exits_0_on_sigint(tmp_path):
    async with bench_serve(tmp_path) as (proc, url):
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/ocpp")
        async with connect(f"{url}/CP7", subprotocols=["ocpp1.6"], proxy=None) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"
        printed = []
        async with asyncio.timeout(10):
            while not any("boot-1" in line and "->" in line for line in printed):
                printed.append((await proc.stdout.readline()).decode())
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
    (run_dir,) = list(tmp_path.iterdir())
    run = load_run(run_dir)
    assert run.meta["status"] == "complete" and not run.partial
    assert [f["direction"] for f in run.frames] == ["in", "out"]


async def test_record_readable_after_sigkill(tmp_path):
    async with bench_serve(tmp_path, "--quiet") as (proc, url):
        (run_dir,) = list(tmp_path.iterdir())
        frames_file = run_dir / "frames.jsonl"
        async with connect(f"{url}/CP8", subprotocols=["ocpp1.6"], proxy=None) as ws:
            await boot(ws)
            for i in range(20):
                await exchange(ws, [2, f"h{i}", "Heartbeat", {}])
            await exchange(ws, [2, "x", "Nope", {}])
            # frames are recorded right after the answer leaves: wait for the last one
            await eventually(lambda: frames_file.read_text().count("\n") >= 44,
                             what="44 frames in frames.jsonl")
            # then kill while frames are still pouring in (a line may be torn)
            for i in range(200):
                await ws.send(json.dumps([2, f"z{i}", "Heartbeat", {}]))
            proc.kill()  # SIGKILL: no cleanup at all
            await proc.wait()
    run = load_run(run_dir)
    assert run.meta["status"] == "running" and run.partial
    assert len(run.frames) >= 44
    assert run.frames[43]["raw"].startswith('[4,"x","NotImplemented"')
    assert any(e["kind"] == "finding" and e["name"] == "unknown-action" for e in run.events)

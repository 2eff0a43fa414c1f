"""A central system in its own process, for bench_scale.py: the bench's endpoint or the
minimal `ocpp`-package CSMS, so each one's CPU time and peak memory are its own.

    python benchmarks/_servers.py ours|ocpp
    stdout: READY <station base url>
    stdin:  CLEAR  -> OK            (forget the latency samples so far)
            REPORT -> REPORT {...}  (ours: added-latency statistics of the samples since CLEAR)
            EOF    -> stop the server, exit
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Summary, raise_fd_limit, stdin_lines

MAX_STATIONS = 1000


def latency_report(samples: list[tuple[int, int, int]], run_dir: Path) -> dict[str, float]:
    """Statistics of the endpoint's latency probe: (arrival, send called, send returned)."""
    added = Summary.of([(h - a) / 1e6 for a, _, h in samples])
    to_send = Summary.of([(s - a) / 1e6 for a, s, _ in samples])
    return {"answered": added.n, "added_p50": added.p50, "added_p99": added.p99,
            "added_max": added.max, "to_send_p50": to_send.p50, "to_send_p99": to_send.p99,
            "record_mb": os.path.getsize(run_dir / "frames.jsonl") / 1e6}


async def serve_ours() -> None:
    from bench.csms import Csms, CsmsSettings
    from bench.record import RunRecord

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        record = RunRecord.create(tmp, "bench-scale")
        # as in a campaign: schema validation and recording on; pings off as in the load
        csms = Csms(CsmsSettings(port=0, any_station=True, latency_probe=True,
                                 ping_interval_s=None), record)
        await csms.start()
        print(f"READY {csms.url}", flush=True)
        commands = await stdin_lines()
        try:
            while (cmd := await commands.get()) is not None:
                if cmd == "CLEAR":
                    assert csms.latency is not None
                    csms.latency.clear()
                    print("OK", flush=True)
                elif cmd == "REPORT":
                    print("REPORT " + json.dumps(latency_report(csms.latency_samples(),
                                                                record.path)), flush=True)
        finally:
            await csms.stop()
            record.close("complete")


async def serve_ocpp() -> None:
    from _ocpp_csms import start_server

    server = await start_server()
    port = server.sockets[0].getsockname()[1]
    print(f"READY ws://127.0.0.1:{port}", flush=True)
    commands = await stdin_lines()
    try:
        while (cmd := await commands.get()) is not None:
            if cmd == "CLEAR":
                print("OK", flush=True)
            elif cmd == "REPORT":
                print("REPORT {}", flush=True)
    finally:
        server.close()
        await server.wait_closed()


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which not in ("ours", "ocpp"):
        print("usage: _servers.py ours|ocpp", file=sys.stderr)
        return 2
    raise_fd_limit(MAX_STATIONS + 64)
    asyncio.run(serve_ours() if which == "ours" else serve_ocpp())
    return 0


if __name__ == "__main__":
    sys.exit(main())

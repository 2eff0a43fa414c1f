"""`bench serve`: the CSMS endpoint alone with the default responders.

Prints the URL a station appends its id to, prints every frame as it passes, records
everything into a run directory, and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from bench.csms import Csms, CsmsSettings, settings_from_rig
from bench.record import RunRecord
from bench.textsafe import visible

DEFAULT_LISTEN = "127.0.0.1:9000"


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r}: must be HOST:PORT, e.g. 127.0.0.1:9000 (port 0 = any free port)")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench serve", description=__doc__.splitlines()[0])
    p.add_argument("--rig", type=Path, help="rig file ([csms], [station], [cards]); "
                   "without it: any station, prefix 'ocpp', profile 0")
    p.add_argument("--listen", type=parse_listen, metavar="HOST:PORT",
                   help=f"override the listen address (default {DEFAULT_LISTEN} or the rig's)")
    p.add_argument("--any-station", action="store_true",
                   help="accept any charge point identity, not only the rig's station")
    p.add_argument("--runs-dir", type=Path, help="where the run directory goes (default runs/)")
    p.add_argument("--label", default="serve", help="run directory label (default serve)")
    p.add_argument("--quiet", action="store_true", help="do not print frames")
    return p


def _settings(args: argparse.Namespace) -> tuple[CsmsSettings, Any]:
    overrides: dict[str, Any] = {}
    if args.listen:
        overrides["host"], overrides["port"] = args.listen
    if args.rig is None:
        host, port = args.listen or parse_listen(DEFAULT_LISTEN)
        return CsmsSettings(host=host, port=port, path_prefix="ocpp", any_station=True), None
    from bench.config.rig import load_rig  # the rig loader is optional for a bare endpoint

    rig = load_rig(args.rig)
    if args.any_station:
        overrides["any_station"] = True
    return settings_from_rig(rig, **overrides), rig


def _printer(kind: str, line: dict[str, Any]) -> None:
    """One console line per frame or connection event. Station text is data: every control
    or invisible character is printed escaped (bench.textsafe), so a station id or payload
    can neither forge console lines nor drive the terminal."""
    if kind == "frames":
        arrow = "<-" if line.get("direction") == "in" else "->"
        verdict = "" if line.get("schema") in ("ok", "n/a") else f"  [{line.get('schema')}]"
        raw = str(line.get("raw", ""))
        if line.get("raw_encoding"):
            raw = f"({line['raw_encoding']}) {raw}"
        raw = raw if len(raw) <= 400 else raw[:400] + "..."
        print(visible(f"{line['utc']} {line.get('station')} {arrow} {raw}{verdict}"), flush=True)
    elif kind == "events" and line.get("kind") in ("finding", "handshake", "connection"):
        detail = line.get("detail", {})
        who = detail.get("station") or detail.get("peer") or ""
        text = detail.get("message") or detail.get("reason") or ""
        print(visible(f"{line['utc']} {who} ** {line['kind']} {line['name']}: {text}"
                      .rstrip(": ")), flush=True)


async def _serve(settings: CsmsSettings, record: RunRecord, quiet: bool) -> str:
    stop = asyncio.Event()
    reason = {"signal": ""}
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda s=sig: (reason.update(signal=s.name), stop.set()))
    if not quiet:
        record.subscribe(_printer)
    csms = Csms(settings, record)
    await csms.start()
    print(f"CSMS listening: a station connects to {csms.url}/<chargePointId>", flush=True)
    print(f"run directory: {record.path}", flush=True)
    try:
        await stop.wait()
    finally:
        await csms.stop()
    return reason["signal"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings, rig = _settings(args)
    except (ValueError, OSError) as e:  # RigError is a ValueError and names file/table/key
        print(f"bench serve: {e}", file=sys.stderr)
        return 2
    runs_dir = args.runs_dir or Path((rig.bench.get("runs_dir") if rig else None) or "runs")
    record = RunRecord.create(runs_dir, args.label, command="serve",
                              rig=str(args.rig) if args.rig else None)
    if rig is not None:
        record.snapshot("rig", rig.redacted())
    status = "error"
    try:
        sig = asyncio.run(_serve(settings, record, args.quiet))
        record.event("log", "stopped", signal=sig)
        status = "complete"
        print(f"stopped ({sig}); record: {record.path}", flush=True)
        return 0
    except OSError as e:
        print(f"bench serve: cannot listen on {settings.host}:{settings.port}: {e}",
              file=sys.stderr)
        return 2  # the exit-code scheme (README): an unusable address is bad input
    finally:
        record.close(status)

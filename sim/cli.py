"""`bench sim`: start the simulated rig (station and instrument twins) in one process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path

from sim.rig import SimRig, SimRigError

DEFAULT_RIG = Path("rigs/sim.toml")
EXIT_BAD_INPUT = 2
PARENT_POLL_S = 1.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench sim",
        description="Start the simulated rig: the station simulator (an OCPP 1.6-J client) and "
                    "the instrument twins (Modbus EV emulator and mains switch, SCPI meter, "
                    "PC/SC reader with vpcd), all on one physical model.")
    p.add_argument("--rig", type=Path, default=DEFAULT_RIG, help="rig file (default %(default)s)")
    p.add_argument("--csms-url", help="CSMS base URL, the station appends /<id> "
                                      "(default from the rig: ws://listen/path_prefix)")
    p.add_argument("--ephemeral", action="store_true",
                   help="bind every twin to an ephemeral port (see the endpoints)")
    p.add_argument("--endpoints-file", type=Path, help="write the endpoints JSON here")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="station fault profile (repeatable; --list-faults)")
    p.add_argument("--list-faults", action="store_true", help="list the fault profiles and exit")
    p.add_argument("--behaviour", action="append", default=[], metavar="NAME",
                   help="conformant-but-unusual station behaviour profile (repeatable; "
                        "--list-behaviours)")
    p.add_argument("--list-behaviours", action="store_true",
                   help="list the behaviour profiles and exit")
    p.add_argument("--station-config", type=Path,
                   help="TOML overrides of the station's defaults (SmartDC)")
    p.add_argument("--no-station", action="store_true",
                   help="serve the twins only (no station simulator)")
    p.add_argument("--parent-pid", type=int, metavar="PID",
                   help="stop (as on SIGTERM) once process PID is gone: `bench run` passes its "
                        "own, so a bench killed outright leaves no rig behind")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    return p


async def watch_parent(pid: int, stop: asyncio.Event) -> None:
    """Set `stop` once `pid` no longer runs (or is no longer our parent: reparented)."""
    while not stop.is_set():
        if os.getppid() != pid:
            print(f"bench sim: parent process {pid} is gone", flush=True)
            stop.set()
            return
        await asyncio.sleep(PARENT_POLL_S)


def list_faults() -> int:
    from sim.station.faults import FAULTS

    width = max(len(name) for name in FAULTS)
    for name, fault in sorted(FAULTS.items()):
        print(f"{name:<{width}}  {fault.description}")
    return 0


def list_behaviours() -> int:
    from sim.station.behaviours import format_behaviours

    print(format_behaviours())
    return 0


def load(path: Path):
    """The rig file through the bench's loader (RigError names file, table and key)."""
    from bench.config.rig import RigError, load_rig

    try:
        return load_rig(path)
    except RigError as exc:
        raise SimRigError(str(exc)) from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SimRigError(f"rig file {path}: {exc}") from exc


def check_faults(names: list[str]) -> None:
    if not names:
        return
    from sim.station.faults import FAULTS

    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise SimRigError(f"unknown fault profile(s) {unknown}; `bench sim --list-faults` "
                          "lists the known ones")


def check_behaviours(names: list[str]) -> None:
    from sim.station.behaviours import check_behaviour_names

    try:
        check_behaviour_names(names)
    except ValueError as exc:
        raise SimRigError(f"{exc}; `bench sim --list-behaviours` lists them") from None


async def serve(args: argparse.Namespace) -> int:
    rig_file = load(args.rig)
    check_faults(args.fault + (rig_file.simulator.faults if rig_file.simulator else []))
    check_behaviours(args.behaviour
                     + (rig_file.simulator.behaviours if rig_file.simulator else []))
    if args.station_config is not None and not args.station_config.is_file():
        raise SimRigError(f"--station-config {args.station_config}: no such file")
    rig = SimRig(rig_file, args.csms_url, ephemeral=args.ephemeral, faults=args.fault,
                 station_config=args.station_config, with_station=not args.no_station,
                 behaviours=args.behaviour)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watcher = (asyncio.create_task(watch_parent(args.parent_pid, stop))
               if args.parent_pid is not None else None)
    try:
        await rig.start()
        endpoints = rig.endpoints()
        for line in rig.describe():
            print(line, flush=True)
        if args.endpoints_file:
            tmp = args.endpoints_file.with_suffix(args.endpoints_file.suffix + ".tmp")
            tmp.write_text(json.dumps(endpoints, indent=2) + "\n", encoding="utf-8")
            tmp.replace(args.endpoints_file)
        print("READY " + json.dumps(endpoints), flush=True)
        await stop.wait()
        print("bench sim: stopping", flush=True)
    finally:
        if watcher is not None:
            watcher.cancel()
        await rig.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.list_faults:
        return list_faults()
    if args.list_behaviours:
        return list_behaviours()
    try:
        return asyncio.run(serve(args))
    except SimRigError as exc:
        print(f"bench sim: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

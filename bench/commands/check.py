"""`bench check [--rig FILE]`: identify every instrument of a rig and change nothing.

Each instrument is activated read-only (open, identify, read the error queue) and closed
again. Exit 0 only when every instrument answered. `--list-drivers` prints the registered
drivers and SCPI dialects (the bench's own and those of installed lab packages) and every
entry point that could not be used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from bench.config.rig import Rig, RigError, describe_keys, load_rig
from bench.verbs import Bench
from instruments.errors import InstrumentError
from instruments.registry import DIALECT_GROUP, DRIVER_GROUP, Registry, RegistryError, registry

DEFAULT_RIG = Path("rigs/sim.toml")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench check", description=__doc__.splitlines()[0])
    p.add_argument("--rig", type=Path, default=DEFAULT_RIG, help="rig file (default %(default)s)")
    p.add_argument("--endpoints-file", type=Path,
                   help="endpoints JSON of a running `bench sim --ephemeral` (its ports)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--list-keys", action="store_true",
                   help="print every key of [bench], [hardware] and [pics] with its type, "
                        "default and meaning, and exit")
    p.add_argument("--list-drivers", action="store_true",
                   help="print every registered driver (role, keys, where it comes from) and "
                        "SCPI dialect, and the entry points that could not be used, and exit")
    return p.parse_args(argv)


def describe_registry(reg: Registry) -> list[str]:
    """The registry as people read it: one block per driver, then dialects, then problems."""
    lines = []
    for name, d in sorted(reg.drivers.items()):
        bound = ", one per connector" if d.binding == "connector" else ""
        lines.append(f"{name}: {d.role} ({d.provides.__name__}{bound}) - {d.doc}")
        lines.append(f"    from {reg.origin(DRIVER_GROUP, name)}")
        for key, k in d.keys.items():
            need = "required" if k.required else "optional"
            lines.append(f"    {key} ({k.type_name}, {need}): {k.doc}")
        if d.safe_state:
            lines.append("    safe state: " + ", ".join(f"<name>.{s.label}" for s in d.safe_state))
    for name, cls in sorted(reg.dialects.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        lines.append(f"dialect {name} (scpi-meter): {doc}")
        lines.append(f"    from {reg.origin(DIALECT_GROUP, name)}")
    for problem in reg.problems.values():
        kind = "driver" if problem.group == DRIVER_GROUP else "dialect"
        lines.append(f"UNUSABLE {kind} {problem}")
    return lines


async def check_rig(rig: Rig) -> list[dict[str, Any]]:
    bench = Bench.from_rig(rig, record=None)  # every driver built by its registration
    gaps = bench.socket_gaps()  # said before the campaign, not as an ERROR in its middle
    results: list[dict[str, Any]] = []
    for d in bench.instruments():
        row: dict[str, Any] = {"name": d.name, "driver": d.driver, "address": d.address}
        if d.name in gaps:
            row["warning"] = gaps[d.name]
        try:
            ident = await d.activate(readonly=True)
            row["identity"] = ident.identity
            row["details"] = ident.details
            errors = ident.details.get("errors") if ident.details else None
            row["ok"] = not errors
            if errors:
                row["error"] = "error queue not empty: " + "; ".join(errors)
        except InstrumentError as exc:
            row["ok"] = False
            row["error"] = str(exc)
        except Exception as exc:  # a driver bug is still a failed check, with its name
            row["ok"] = False
            row["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            await d.deactivate()
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    # pymodbus logs its own reconnect chatter; our errors already name instrument and address
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.list_keys:
        print("\n".join(describe_keys()))
        return 0
    if args.list_drivers:
        print("\n".join(describe_registry(registry())))
        return 0
    try:
        rig = load_rig(args.rig)
        if args.endpoints_file:
            rig = rig.with_ports(json.loads(args.endpoints_file.read_text("utf-8")))
        results = asyncio.run(check_rig(rig))
    except (RigError, RegistryError, InstrumentError, OSError, ValueError) as exc:
        print(f"bench check: {exc}", file=sys.stderr)
        return 2
    for problem in registry().problems.values():  # unused by this rig, but worth knowing
        print(f"bench check: warning: unusable entry point {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print(f"rig {rig.path}: station {rig.station.id}")
        from bench.plugin.stationurl import station_urls

        print(f"  point the station at {' or '.join(station_urls(rig))}")
        for r in results:
            mark = "ok  " if r["ok"] else "FAIL"
            line = f"  {mark} {r['name']:<10} {r['driver']:<12} {r['address']}"
            if r.get("identity"):
                line += f"\n         identity: {r['identity']}"
            if r.get("error"):
                line += f"\n         error: {r['error']}"
            if r.get("warning"):
                line += f"\n         warning: {r['warning']}"
            print(line)
    bad = [r["name"] for r in results if not r["ok"]]
    if bad:
        print(f"bench check: {len(bad)} instrument(s) did not answer: {', '.join(bad)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

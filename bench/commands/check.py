"""`bench check [--rig FILE]`: identify every instrument of a rig and change nothing.

Each instrument is activated read-only (open, identify, read the error queue) and closed
again. Exit 0 only when every instrument answered.
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
    return p.parse_args(argv)


async def check_rig(rig: Rig) -> list[dict[str, Any]]:
    bench = Bench.from_rig(rig, record=None)
    results: list[dict[str, Any]] = []
    for d in bench.instruments():
        row: dict[str, Any] = {"name": d.name, "driver": d.driver, "address": d.address}
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
    if bench.network is not None and bench.network not in bench.instruments():
        results.append({"name": bench.network.name, "driver": bench.network.driver,
                        "address": "csms", "ok": True,
                        "identity": "network cut by the CSMS (nothing to probe)"})
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    # pymodbus logs its own reconnect chatter; our errors already name instrument and address
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.list_keys:
        print("\n".join(describe_keys()))
        return 0
    try:
        rig = load_rig(args.rig)
        if args.endpoints_file:
            rig = rig.with_ports(json.loads(args.endpoints_file.read_text("utf-8")))
    except (RigError, OSError, ValueError) as exc:
        print(f"bench check: {exc}", file=sys.stderr)
        return 2
    results = asyncio.run(check_rig(rig))
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
            print(line)
    bad = [r["name"] for r in results if not r["ok"]]
    if bad:
        print(f"bench check: {len(bad)} instrument(s) did not answer: {', '.join(bad)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

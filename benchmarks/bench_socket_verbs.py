"""What the socket rig's verbs cost: each one over the real Modbus TCP twin (register map
bench-ev-v2), with its read-back, as a case pays it.

    .venv/bin/python benchmarks/bench_socket_verbs.py [--rounds 50]

The rig is rigs/sim-all-profiles.toml pointed at an EV twin on an ephemeral loopback port (no
station: the model's lock is driven here as the station would). Per verb: the time from the
verb's call to its return (command, acknowledgement and read-back), and from its issue stamp
to the acknowledgement (`confirm`), median / p99 / max in ms over `--rounds` rounds. Prints a
markdown table and the machine's load (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, MachineWindow, Summary, table

from bench.config.rig import load_rig
from bench.verbs import Bench
from sim.model import RigModel
from sim.twins.ev import EvTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import load_register_map


class Events:
    """The verbs' record events, kept in memory (the bench's record, without files)."""

    def __init__(self) -> None:
        self.verbs: list[dict] = []

    def event(self, kind: str, name: str, mono_ns: int | None = None, **detail: object) -> None:
        if kind == "verb":
            self.verbs.append({"name": name, **detail})

    def snapshot(self, *_: object) -> None:
        return None


async def measure(rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    model = RigModel(connectors=2)
    model.set_socket_outlets(True)
    regmap = load_register_map("bench-ev-v2")
    server = ModbusTwinServer({1: EvTwin(model, 1, regmap), 2: EvTwin(model, 2, regmap)},
                              port=0)
    await server.start()
    events = Events()
    rig = load_rig(REPO / "rigs" / "sim-all-profiles.toml").with_ports(
        {"modbus": {"host": "127.0.0.1", "port": server.port}})
    rig = dataclasses.replace(rig, instruments={n: i for n, i in rig.instruments.items()
                                                if n in ("ev1", "ev2")})  # the EVs only
    bench = Bench.from_rig(rig, events)
    await bench.activate()
    c = model.connector(1)
    out: dict[str, tuple[list[float], list[float]]] = {}

    async def timed(name: str, call) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter_ns()
        await call
        took = (time.perf_counter_ns() - t0) / 1e6
        ev = events.verbs[-1]
        confirm = (ev["confirmed_mono_ns"] - ev["issued_mono_ns"]) / 1e6
        total, confirms = out.setdefault(name, ([], []))
        total.append(took)
        confirms.append(confirm)

    try:
        for _ in range(rounds):
            await timed("plug_in (both ends)", bench.plug_in(1))
            c.locked = True  # the station locks the seated cable
            await timed("unplug_ev_side", bench.unplug_ev_side(1))
            c.locked = False  # ... and lets it go
            await timed("unplug_station_side", bench.unplug_station_side(1))
            await timed("half_plug", bench.half_plug(1))
            await timed("unplug (whole cable)", bench.unplug(1))
            await timed("hold_lock(on)", bench.hold_lock(1, True))
            await timed("hold_lock(off)", bench.hold_lock(1, False))
    finally:
        await bench.deactivate()
        await server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50)
    args = ap.parse_args()
    window = MachineWindow()
    out = asyncio.run(measure(args.rounds))
    window.stop()
    rows = []
    for name, (total, confirm) in out.items():
        t, k = Summary.of(total), Summary.of(confirm)
        rows.append((name, t.n, t.p50, t.p99, t.max, k.p50, k.max))
    print(f"## Socket rig verbs over the Modbus twin ({args.rounds} rounds)\n")
    print(table(["verb", "n", "call ms p50", "p99", "max", "confirm ms p50", "max"], rows,
                [False] + [True] * 6))
    print()
    print(window.describe())


if __name__ == "__main__":
    main()

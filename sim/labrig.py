"""Lab mode on one machine: `bench sim` started apart, as a lab engineer runs a station and
instruments the bench does not start (here on ephemeral ports of its own, on loopback), and a
lab rig file (no [simulator]) pointing the bench at its twins and the station at the bench's
CSMS. For the lab-mode tests (tests/test_plans_lab.py) and benchmarks/bench_lab_day.py.

    with LabStation(folder) as lab:             # `bench sim --ephemeral --csms-url ...`
        rig = lab.rig(mains=False)              # a lab rig file for it
        ... bench run --rig rig --plan lab_plan(folder) ...
"""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sim.netns_rigs import dump_toml, write_lab_rig
from sim.testing import SimRigProcess

REPO = Path(__file__).resolve().parents[1]
SIM_RIG = REPO / "rigs" / "sim.toml"
LOOPBACK = SimpleNamespace(bench_ip="127.0.0.1", station_ip="127.0.0.1")
CSMS_SIDE = {"driver": "csms-side"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def lab_plan(folder: Path, **settings: Any) -> Path:
    """The core plan's short simulated intervals as plain settings: the bench on a lab rig
    does not know its station is simulated."""
    core = tomllib.loads((REPO / "testplans" / "plans" / "core.toml").read_text("utf-8"))
    plan = {"name": "lab", "suites": ["core"], "settings": {**core["sim_settings"], **settings}}
    path = folder / "lab-plan.toml"
    path.write_text(dump_toml(plan), "utf-8")
    return path


class LabStation:
    """`bench sim` serving the station and its twins; the station calls ws://127.0.0.1:PORT."""

    def __init__(self, folder: Path, station: dict[str, Any] | None = None) -> None:
        self.folder = folder
        self.csms_port = free_port()
        args = ["--rig", str(SIM_RIG), "--csms-url", f"ws://127.0.0.1:{self.csms_port}/ocpp"]
        if station:
            config = folder / "station.toml"
            config.write_text(dump_toml({"station": station}), "utf-8")
            args += ["--station-config", str(config)]
        self.process = SimRigProcess(args, cwd=REPO, ready_timeout=30)
        self.endpoints: dict[str, Any] = {}

    def __enter__(self) -> LabStation:
        try:
            self.endpoints = self.process.start()
        except BaseException:
            self.process.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.close()

    def rig(self, name: str = "lab-rig.toml", mains: bool = True,
            **instrument_changes: dict[str, Any]) -> Path:
        """A lab rig for this station: without mains when asked, instruments changed."""
        path = write_lab_rig(SIM_RIG, LOOPBACK, self.csms_port, self.folder, self.endpoints,
                             CSMS_SIDE, name=name)
        data = tomllib.loads(path.read_text("utf-8"))
        if not mains:
            data["instruments"].pop("mains")
        for inst, change in instrument_changes.items():
            data["instruments"][inst].update(change)
        path.write_text(dump_toml(data), "utf-8")
        return path

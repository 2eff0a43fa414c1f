"""Rig files for a simulated station in its own network namespace (sim/netns.py).

The bench treats it as a lab rig (no [simulator] table): `bench sim` runs inside the namespace
on the station rig, the bench outside on the lab rig, whose instruments point at the
namespace's address and whose network driver is the one under test.

    station_rig = write_station_rig(base, ns, csms_port, folder, station_config)
    ...start `bench sim --rig station_rig` inside ns, read its READY endpoints...
    lab_rig = write_lab_rig(base, ns, csms_port, folder, endpoints, network={...})
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from instruments.registry import registry
from sim.netns import StationNetns


def _registration(inst: dict[str, Any]) -> Any:
    return registry().driver(str(inst.get("driver")))


def dump_toml(data: dict[str, Any]) -> str:
    """TOML for nested tables of scalars and lists of scalars (what rig files hold)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"no TOML for {type(v).__name__}: {v!r}")

    def key(k: str) -> str:
        return k if k.replace("_", "").replace("-", "").isalnum() else value(k)

    def table(prefix: str, body: dict[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{key(k)} = {value(v)}" for k, v in scalars.items())
        lines.append("")
        for k, v in body.items():
            if isinstance(v, dict):
                table(f"{prefix}.{key(k)}" if prefix else key(k), v)

    table("", data)
    return "\n".join(lines)


def _base(base_rig: Path, ns: StationNetns, csms_port: int) -> dict[str, Any]:
    data = tomllib.loads(base_rig.read_text("utf-8"))
    data = copy.deepcopy(data)
    data.setdefault("csms", {})["listen"] = f"{ns.bench_ip}:{csms_port}"
    return data


def write_station_rig(base_rig: Path, ns: StationNetns, csms_port: int, folder: Path,
                      station_config: Path | None = None) -> Path:
    """The rig `bench sim` serves inside the namespace: twins on every address of it."""
    data = _base(base_rig, ns, csms_port)
    sim = data.setdefault("simulator", {})
    if station_config is not None:
        sim["station_config"] = str(station_config)
    for inst in data.get("instruments", {}).values():
        if "host" in inst:
            inst["host"] = "0.0.0.0"
        if _registration(inst).sim_endpoint == "scpi":
            inst["resource"] = "TCPIP::0.0.0.0::15025::SOCKET"
    path = folder / "station-rig.toml"
    path.write_text(dump_toml(data), "utf-8")
    return path


def write_lab_rig(base_rig: Path, ns: StationNetns, csms_port: int, folder: Path,
                  endpoints: dict[str, Any], network: dict[str, Any],
                  name: str = "lab-rig.toml") -> Path:
    """The bench's rig: no [simulator]; instruments at the namespace's address and ports."""
    data = _base(base_rig, ns, csms_port)
    data.pop("simulator", None)
    for inst_name, inst in list(data.get("instruments", {}).items()):
        reg = _registration(inst)
        if reg.role == "network":
            data["instruments"][inst_name] = dict(network)
        elif reg.sim_endpoint in ("modbus", "vpcd"):
            inst["host"], inst["port"] = ns.station_ip, int(endpoints[reg.sim_endpoint]["port"])
        elif reg.sim_endpoint == "scpi":
            inst["resource"] = f"TCPIP::{ns.station_ip}::{endpoints['scpi']['port']}::SOCKET"
    path = folder / name
    path.write_text(dump_toml(data), "utf-8")
    return path

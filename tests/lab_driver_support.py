"""A lab's own driver package, as a test builds it (no tests here).

`write_distribution` writes a plain installed distribution (modules and a `.dist-info` with
METADATA, entry_points.txt and RECORD) into a folder; put that folder on a process's path
(PYTHONPATH, or sys.path) and importlib.metadata finds it like any `pip install`ed package.
`LAB_PACKAGE` is such a package: an EV emulator driver wrapping the Modbus twin (with a key
of its own and its own safe-state step) and an SCPI dialect for the meter twin. The bench is
not edited for either.
"""

from __future__ import annotations

from pathlib import Path

LAB_DISTRIBUTION = "lab-bench-drivers"

LAB_PACKAGE = '''
"""The lab's drivers: its EV emulator (a Modbus device with an asset tag) and its analyser."""

from instruments.errors import NotSafe
from instruments.interfaces import EvEmulator, MeterReading
from instruments.modbus_ev import REGISTRATION as MODBUS_EV
from instruments.modbus_ev import ModbusEvEmulator
from instruments.registration import DriverRegistration, Key, SafeStep
from instruments.safe_steps import ensure_active, ev_readback
from instruments.scpi_meter import GenericDialect, parse_number

COMMANDS = []  # what the lab's EV was told, in this process


class LabEv(ModbusEvEmulator):
    driver = "lab-ev"

    def __init__(self, name, asset_tag, **modbus):
        super().__init__(name, **modbus)
        self.asset_tag = asset_tag

    async def _identify(self):
        base = await super()._identify()
        return self.make_identity(f"LAB-EV {self.asset_tag} ({base.identity})", **base.details)

    async def plug(self):
        COMMANDS.append("plug")
        await super().plug()


async def _released(ev):
    await ensure_active(ev)
    await ev.allow_power(False)
    await ev.request_current(0)
    await ev.set_cp_state("A")
    await ev.unplug()
    state = await ev.read_state()
    readback = {**ev_readback(state), "asset_tag": ev.asset_tag}
    if state.plugged or state.allow_power or state.requested_current_a:
        raise NotSafe("the lab EV is still plugged, powered or requesting", readback)
    return readback


def _build(ctx):
    p = ctx.params
    return LabEv(ctx.name, p["asset_tag"], host=p["host"], port=p["port"],
                 device_id=p["device_id"], register_map=p["register_map"],
                 connector=p["connector"], map_base=ctx.rig.path.parent)


LAB_EV = DriverRegistration(
    name="lab-ev", role="ev", provides=EvEmulator, binding="connector",
    keys={**{k: MODBUS_EV.keys[k] for k in ("host", "port", "device_id", "register_map",
                                             "connector")},
          "asset_tag": Key(str, required=True, doc="the lab's inventory number")},
    build=_build, safe_state=(SafeStep("released", _released, "EV off, unplugged"),),
    sim_endpoint="modbus", doc="the lab's EV emulator (Modbus TCP, with an asset tag)")


class LabScpiDialect(GenericDialect):
    """The lab's analyser: long-form SCPI headers."""

    name = "lab-scpi"

    async def read(self):
        values = []
        for query in ("MEASure:VOLTage?", "MEASure:CURRent?", "MEASure:POWer?"):
            values.append(parse_number(await self.s.query(query), query))
        return MeterReading(*values)

    async def integrator_start(self):
        await self.s.write("INTegrate:STARt")
'''


def write_distribution(site: Path, name: str, modules: dict[str, str],
                       entry_points: dict[str, dict[str, str]], version: str = "0.1") -> Path:
    """A distribution as pip leaves it in site-packages; returns its .dist-info folder."""
    site.mkdir(parents=True, exist_ok=True)
    files = []
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source, "utf-8")
        files.append(f"{module}.py")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   "utf-8")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{n} = {target}\n" for n, target in eps.items()) + "\n"
        for group, eps in entry_points.items()), "utf-8")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in
                                         [*files, *(f"{info.name}/{n}" for n in
                                                    ("METADATA", "entry_points.txt", "RECORD"))]),
                                 "utf-8")
    return info


def write_lab_package(site: Path) -> Path:
    return write_distribution(site, LAB_DISTRIBUTION, {"lab_bench_drivers": LAB_PACKAGE}, {
        "bench.drivers": {"lab-ev": "lab_bench_drivers:LAB_EV"},
        "bench.dialects": {"lab-scpi": "lab_bench_drivers:LabScpiDialect"},
    })

"""Mains switches: a Modbus coil (contactor relay) or an SCPI source output."""

from __future__ import annotations

from instruments.base import Driver
from instruments.interfaces import Identity, MainsSwitch
from instruments.modbus_link import ModbusLink
from instruments.registration import (
    MODBUS_DEVICE_KEY,
    TCP_KEYS,
    TIMEOUT_KEYS,
    VISA_KEYS,
    BuildContext,
    DriverRegistration,
    Key,
)
from instruments.visa_session import VisaSession


class ModbusCoilMains(Driver):
    driver = "modbus-coil"

    def __init__(self, name: str, host: str, port: int, device_id: int, coil: int = 0,
                 timeout_s: float = 1.0, retries: int = 2) -> None:
        self.link = ModbusLink(name, host, port, device_id, timeout_s, retries)
        super().__init__(name, f"{self.link.address} coil {coil}")
        self.coil = coil
        self.link.address = self.address

    async def _open(self) -> None:
        await self.link.connect()

    async def _identify(self) -> Identity:
        on = await self._read()
        return self.make_identity(f"mains coil {self.coil}", mains_on=on)

    async def _close(self) -> None:
        self.link.close()

    async def _read(self) -> bool:
        return (await self.link.read_coils(self.coil, 1, f"coil {self.coil}"))[0]

    async def on(self) -> None:
        await self._set(True)

    async def off(self) -> None:
        await self._set(False)

    async def _set(self, value: bool) -> None:
        self.require_active()
        await self.link.write_coil(self.coil, value, f"coil {self.coil}")

    async def state(self) -> bool:
        self.require_active()
        return await self._read()


class ScpiSourceMains(Driver):
    """A programmable source feeding the station: OUTP ON|OFF, OUTP?."""

    driver = "scpi-source"

    def __init__(self, name: str, resource: str, visa_library: str = "@py",
                 timeout_s: float = 2.0) -> None:
        super().__init__(name, resource)
        self.session = VisaSession(name, resource, visa_library, timeout_s)

    async def _open(self) -> None:
        await self.session.open()

    async def _identify(self) -> Identity:
        idn = await self.session.query("*IDN?")
        errors = await self.session.drain_errors("SYST:ERR?")
        return self.make_identity(idn, errors=errors)

    async def _close(self) -> None:
        await self.session.close()

    async def on(self) -> None:
        self.require_active()
        await self.session.write("OUTP ON")

    async def off(self) -> None:
        self.require_active()
        await self.session.write("OUTP OFF")

    async def state(self) -> bool:
        self.require_active()
        answer = (await self.session.query("OUTP?")).strip().upper()
        if answer in ("1", "ON"):
            return True
        if answer in ("0", "OFF"):
            return False
        raise self.error(f"OUTP? answered {answer!r}: expected 1/0/ON/OFF")


def _build_coil(ctx: BuildContext) -> ModbusCoilMains:
    p = ctx.params
    return ModbusCoilMains(ctx.name, p["host"], p["port"], p["device_id"], p.get("coil", 0),
                           p.get("timeout_s", 1.0))


def _build_source(ctx: BuildContext) -> ScpiSourceMains:
    p = ctx.params
    return ScpiSourceMains(ctx.name, p["resource"], p.get("visa_library", "@py"),
                           p.get("timeout_s", 2.0))


MODBUS_COIL = DriverRegistration(
    name=ModbusCoilMains.driver, role="mains", provides=MainsSwitch,
    keys={
        **TCP_KEYS,
        "device_id": MODBUS_DEVICE_KEY,
        "coil": Key(int, default=0, minimum=0, maximum=65535, doc="coil number; 1 = mains on"),
        **TIMEOUT_KEYS,
    },
    build=_build_coil, sim_endpoint="modbus",
    doc="the station's mains contactor on a Modbus coil")

# no sim_endpoint: the simulated rig has no SCPI source (its mains is a coil)
SCPI_SOURCE = DriverRegistration(
    name=ScpiSourceMains.driver, role="mains", provides=MainsSwitch,
    keys={**VISA_KEYS, **TIMEOUT_KEYS}, build=_build_source,
    doc="a programmable source feeding the station (SCPI OUTP ON|OFF)")

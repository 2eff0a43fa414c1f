"""Power meter over VISA: one driver, one dialect object per command set (docs/instruments.md,
"Power meters over VISA").

Dialects only know the command strings and answer formats; the driver owns lifecycle, the
identity (*IDN?), the error queue and the errors. Commands not in the public command sets we
have are refused with an InstrumentError instead of guessed. A dialect is registered under
the entry-point group `bench.dialects` by its name (the bench's own in pyproject.toml; a lab
adds one for its analyser in its own package) and chosen by the rig's `dialect` key.
"""

from __future__ import annotations

import math

from instruments.base import Driver
from instruments.errors import InstrumentError, NotSupported
from instruments.interfaces import Identity, MeterReading, PowerMeter
from instruments.registration import (
    CONNECTOR_KEY,
    TIMEOUT_KEYS,
    VISA_KEYS,
    BuildContext,
    DriverRegistration,
    Key,
    KeyProblem,
    RigFacts,
)
from instruments.safe_steps import METER_SAFE_STEPS
from instruments.visa_session import VisaSession

INTEGRATOR_STATES = ("RESET", "RUN", "STOP")


SCPI_INFINITY = 9.9e37  # SCPI-99: 9.9E37 is +infinity, 9.91E37 not-a-number (no data)


def parse_number(answer: str, what: str) -> float:
    """'1.234500E+02', '+1.2E2', 'U1 +1.0E+02' (header on) -> float. NaN, infinities and the
    SCPI not-a-number/infinity codes are refused: a limit cannot judge them."""
    token = answer.strip().split()[-1] if answer.strip() else ""
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{what} answered {answer!r}: not a number") from None
    if not math.isfinite(value) or abs(value) >= SCPI_INFINITY:
        raise ValueError(f"{what} answered {answer!r}: a non-finite reading (NaN or infinite: "
                         "over range or no data), refused")
    return value


def parse_list(answer: str, n: int, what: str, sep: str = ",") -> list[float]:
    parts = [p for p in answer.replace(";", sep).split(sep) if p.strip()]
    if len(parts) < n:
        raise ValueError(f"{what} answered {answer!r}: expected {n} values")
    return [parse_number(p, what) for p in parts[:n]]


class Dialect:
    name = "?"
    error_query: str | None = "SYST:ERR?"
    idn_query = "*IDN?"

    def __init__(self, session: VisaSession, channel: int = 1) -> None:
        self.s = session
        self.ch = channel
        self.local_state = "RESET"  # for dialects without a state query

    def unsupported(self, what: str) -> InstrumentError:
        return NotSupported(self.s.instrument, self.s.resource,
                            f"{what} is not in the {self.name} command set the bench knows "
                            "(docs/instruments.md, power meters)")

    async def setup(self) -> None:
        return None

    async def teardown(self) -> None:
        return None

    async def read(self) -> MeterReading:
        raise NotImplementedError

    async def integrator_reset(self) -> None:
        raise self.unsupported("integrator reset")

    async def integrator_start(self) -> None:
        raise self.unsupported("integrator start")

    async def integrator_stop(self) -> None:
        raise self.unsupported("integrator stop")

    async def integrator_state(self) -> str:
        raise self.unsupported("integrator state")

    async def energy_wh(self) -> float:
        raise self.unsupported("integrated energy")


class GenericDialect(Dialect):
    """contracts.md "Meter SCPI, generic dialect" (the simulated rig's meter twin speaks it)."""

    name = "generic"

    async def setup(self) -> None:
        await self.s.write("*CLS")

    async def read(self) -> MeterReading:
        v = parse_number(await self.s.query("MEAS:VOLT?"), "MEAS:VOLT?")
        i = parse_number(await self.s.query("MEAS:CURR?"), "MEAS:CURR?")
        p = parse_number(await self.s.query("MEAS:POW?"), "MEAS:POW?")
        return MeterReading(v, i, p)

    async def integrator_reset(self) -> None:
        await self.s.write("INT:RES")

    async def integrator_start(self) -> None:
        await self.s.write("INT:STAR")

    async def integrator_stop(self) -> None:
        await self.s.write("INT:STOP")

    async def integrator_state(self) -> str:
        state = (await self.s.query("INT:STAT?")).strip().upper()
        if state not in INTEGRATOR_STATES:
            raise ValueError(f"INT:STAT? answered {state!r}: expected RESET, RUN or STOP")
        return state

    async def energy_wh(self) -> float:
        return parse_number(await self.s.query("INT:ENER?"), "INT:ENER?")


_WT_STATES = {"RES": "RESET", "READ": "RESET", "STAR": "RUN", "STOP": "STOP", "TIM": "STOP"}


class YokogawaWtDialect(Dialect):
    """WT310/WT500/WT1800/WT3000/WT5000: numeric item list U, I, P, WH of one element."""

    name = "yokogawa-wt"
    error_query = ":STATus:ERRor?"

    async def setup(self) -> None:
        e = self.ch
        for cmd in (":COMMunicate:REMote ON", ":NUMeric:FORMat ASCII",
                    ":NUMeric:NORMal:NUMBer 4", f":NUMeric:NORMal:ITEM1 U,{e}",
                    f":NUMeric:NORMal:ITEM2 I,{e}", f":NUMeric:NORMal:ITEM3 P,{e}",
                    f":NUMeric:NORMal:ITEM4 WH,{e}", ":INTEGrate:MODE NORMal"):
            await self.s.write(cmd)

    async def teardown(self) -> None:
        await self.s.write(":COMMunicate:REMote OFF")

    async def _values(self) -> list[float]:
        return parse_list(await self.s.query(":NUMeric:NORMal:VALue?"), 4,
                          ":NUMeric:NORMal:VALue?")

    async def read(self) -> MeterReading:
        u, i, p, _ = await self._values()
        return MeterReading(u, i, p)

    # no leading colon on INTEG:STAR: a WT333E rejected ":INTEGRATE:START" (§3.1)
    async def integrator_reset(self) -> None:
        await self.s.write("INTEG:RESet")

    async def integrator_start(self) -> None:
        await self.s.write("INTEG:STARt")

    async def integrator_stop(self) -> None:
        # INTEG:STOP while not running sets an execution error: guard on the state
        if await self.integrator_state() == "RUN":
            await self.s.write("INTEG:STOP")

    async def integrator_state(self) -> str:
        answer = (await self.s.query("INTEG:STATe?")).strip().upper()
        for prefix, state in _WT_STATES.items():
            if answer.startswith(prefix):
                return state
        raise ValueError(f"INTEG:STATe? answered {answer!r}: unknown state")

    async def energy_wh(self) -> float:
        return (await self._values())[3]


class RsHmc8015Dialect(Dialect):
    """R&S HMC8015: function list + CHAN1:MEAS:DATA?; the integrator state is tracked here."""

    name = "rs-hmc8015"

    async def setup(self) -> None:
        for cmd in ("SYST:REM", f"CHAN{self.ch}:MEAS:FUNC URMS,IRMS,P,WH", "INT:MODE MAN",
                    "INT:STAT ON"):
            await self.s.write(cmd)

    async def teardown(self) -> None:
        await self.s.write("SYST:LOC")

    async def _values(self) -> list[float]:
        q = f"CHAN{self.ch}:MEAS:DATA?"
        return parse_list(await self.s.query(q), 4, q)

    async def read(self) -> MeterReading:
        u, i, p, _ = await self._values()
        return MeterReading(u, i, p)

    async def integrator_reset(self) -> None:
        await self.s.write("INT:RES")
        self.local_state = "RESET"

    async def integrator_start(self) -> None:
        await self.s.write("INT:STAR")
        self.local_state = "RUN"

    async def integrator_stop(self) -> None:
        await self.s.write("INT:STOP")
        self.local_state = "STOP"

    async def integrator_state(self) -> str:
        return self.local_state

    async def energy_wh(self) -> float:
        return (await self._values())[3]


class HiokiPwDialect(Dialect):
    """Hioki PW3390/PW3336/PW8001: `:MEASure? U1` one item per query, header off."""

    name = "hioki-pw"
    error_query = None  # no error-queue query in the command set we have

    async def setup(self) -> None:
        await self.s.write(":HEADer OFF")

    async def read(self) -> MeterReading:
        values = []
        for item in ("U", "I", "P"):
            q = f":MEASure? {item}{self.ch}"
            values.append(parse_number(await self.s.query(q), q))
        return MeterReading(*values)


class ZesLmgDialect(Dialect):
    """ZES LMG600/670 short-command language: `actn;utrms1?;itrms1?;p1?`."""

    name = "zes-lmg"
    error_query = None  # SYST:ERR? is SCPI language only; the session runs in short mode

    async def setup(self) -> None:
        await self.s.write("*zlang short")

    async def teardown(self) -> None:
        await self.s.write("*zlang scpi")

    async def read(self) -> MeterReading:
        c = self.ch
        q = f"actn;utrms{c}?;itrms{c}?;p{c}?"
        u, i, p = parse_list(await self.s.query(q), 3, q, sep=";")
        return MeterReading(u, i, p)


def dialect_class(name: str) -> type[Dialect]:
    """The registered dialect of that name (RegistryError names what is known or broken)."""
    from instruments.registry import registry

    return registry().dialect(name)


class ScpiPowerMeter(Driver):
    driver = "scpi-meter"

    def __init__(self, name: str, resource: str, visa_library: str = "@py",
                 dialect: str | type[Dialect] = "generic", connector: int = 1,
                 channel: int = 1, timeout_s: float = 2.0) -> None:
        super().__init__(name, resource)
        if isinstance(dialect, str):
            from instruments.registry import RegistryError

            try:
                dialect = dialect_class(dialect)
            except RegistryError as exc:
                raise self.error(str(exc)) from None
        self.session = VisaSession(name, resource, visa_library, timeout_s)
        self.dialect = dialect(self.session, channel)
        self.connector = connector
        self.errors_seen: list[str] = []

    async def _open(self) -> None:
        await self.session.open()

    async def _identify(self) -> Identity:
        idn = await self.session.query(self.dialect.idn_query)
        if not idn:
            raise self.error(f"{self.dialect.idn_query} answered nothing")
        errors = await self.drain_errors()
        if not self.readonly:
            await self.dialect.setup()
            errors += await self.drain_errors()
            if errors:
                raise self.error(f"setup left errors in the queue: {'; '.join(errors)}")
        return self.make_identity(idn, dialect=self.dialect.name, errors=errors)

    async def _close(self) -> None:
        if not self.readonly and self.session._inst is not None and not self.session._dead:
            try:
                await self.dialect.teardown()
            except InstrumentError:
                pass  # the session is closing anyway; the cause was reported where it happened
        await self.session.close()

    async def drain_errors(self) -> list[str]:
        if self.dialect.error_query is None:
            return []
        errors = await self.session.drain_errors(self.dialect.error_query)
        self.errors_seen += errors
        return errors

    async def _do(self, what: str, coro_fn):  # type: ignore[no-untyped-def]
        self.require_active()
        try:
            return await coro_fn()
        except ValueError as exc:
            raise self.error(str(exc)) from None

    async def read(self) -> MeterReading:
        return await self._do("read", self.dialect.read)

    async def voltage(self) -> float:
        return (await self.read()).voltage_v

    async def current(self) -> float:
        return (await self.read()).current_a

    async def power(self) -> float:
        return (await self.read()).power_w

    async def integrator_reset(self) -> None:
        await self._do("integrator reset", self.dialect.integrator_reset)

    async def integrator_start(self) -> None:
        await self._do("integrator start", self.dialect.integrator_start)

    async def integrator_stop(self) -> None:
        await self._do("integrator stop", self.dialect.integrator_stop)

    async def integrator_state(self) -> str:
        return await self._do("integrator state", self.dialect.integrator_state)

    async def energy_wh(self) -> float:
        return await self._do("energy", self.dialect.energy_wh)


def _known_dialect(value: str, rig: RigFacts) -> None:
    from instruments.registry import RegistryError

    try:
        dialect_class(value)
    except RegistryError as exc:
        raise KeyProblem(f"= {value!r}: {exc}") from None


def _build(ctx: BuildContext) -> ScpiPowerMeter:
    p = ctx.params
    return ScpiPowerMeter(ctx.name, p["resource"], p.get("visa_library", "@py"),
                          p.get("dialect", "generic"), p["connector"], p.get("channel", 1),
                          p.get("timeout_s", 2.0))


REGISTRATION = DriverRegistration(
    name=ScpiPowerMeter.driver, role="meter", provides=PowerMeter, binding="connector",
    keys={
        **VISA_KEYS,
        "dialect": Key(str, default="generic", check=_known_dialect,
                       doc="command set of the analyser: a registered SCPI dialect "
                       "(bench check --list-drivers)"),
        "connector": CONNECTOR_KEY,
        "channel": Key(int, minimum=1, doc="input element/channel of the analyser (default 1)"),
        **TIMEOUT_KEYS,
    },
    build=_build, safe_state=METER_SAFE_STEPS, sim_endpoint="scpi",
    doc="power analyser over VISA/SCPI (pyvisa); command set by dialect")

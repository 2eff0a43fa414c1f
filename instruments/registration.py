"""What a driver declares about itself, so that the bench can use it without knowing it.

Every driver module ends with one `DriverRegistration`: the name a rig file gives it
(`driver = "modbus-ev"`), the keys of its `[instruments.NAME]` table (type, meaning, range),
the role it plays on the rig and the Protocol its objects satisfy (instruments.roles), whether
a `connector` key binds it to one connector, the steps that bring it to its safe state, and
how to build it from its table. The registration is published under the entry-point group
`bench.drivers` (the bench's own in its pyproject.toml; a lab's in its own package), read by
instruments.registry. This module imports nothing of the bench above it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

MISSING: Any = object()  # a Key without a default

Binding = Literal["connector", "rig"]


class KeyProblem(ValueError):
    """A value a Key refuses. `text` follows the key in the message ("= 70000: must be 1 to
    65535"); `subkey` names an entry inside the value (`coils.ghost`)."""

    def __init__(self, text: str, subkey: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.subkey = subkey


class CardFacts(Protocol):
    """What a driver may read of a card of the rig's catalogue."""

    @property
    def uid(self) -> str | None: ...

    @property
    def presentable(self) -> bool: ...


@dataclass(frozen=True)
class RigFacts:
    """What a driver may read of the rig it sits on (the bench's Rig, seen from below)."""

    path: Path  # the rig file: relative paths in keys are taken from its folder
    station_id: str
    connectors: int
    csms_port: int  # the port the rig file gives the CSMS (a started CSMS may differ)
    cards: Mapping[str, CardFacts] = field(default_factory=dict)


def is_type(value: Any, typ: type | tuple[type, ...]) -> bool:
    """isinstance, except that a TOML boolean is not a number (True is an int in Python)."""
    types = typ if isinstance(typ, tuple) else (typ,)
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


@dataclass(frozen=True)
class Key:
    """One key of a rig table: its type, whether it must be there, what values it takes
    (`choices`: of the value, or of each item of a list), its default and its meaning.
    `check` is the driver's own rule for a value of the right type; it raises KeyProblem."""

    type: type | tuple[type, ...]
    required: bool = False
    choices: tuple[Any, ...] | None = None
    default: Any = MISSING
    doc: str = ""
    minimum: float | None = None  # numbers: the smallest allowed value
    maximum: float | None = None  # numbers: the largest allowed value
    positive: bool = False  # numbers: must be > 0
    check: Callable[[Any, RigFacts], None] | None = None

    @property
    def type_name(self) -> str:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if set(types) == {int, float}:
            return "number"
        return " or ".join(t.__name__ for t in types)

    def validate(self, value: Any, facts: RigFacts | None = None) -> None:
        """Raise KeyProblem unless `value` (already of the key's type) is allowed."""
        items = value if isinstance(value, list) else [value]
        if self.choices is not None and any(v not in self.choices for v in items):
            raise KeyProblem(f"= {value!r}: must be "
                             + ("a list of " if isinstance(value, list) else "one of ")
                             + ", ".join(map(str, self.choices)))
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._in_range(value)
        if self.check is not None and facts is not None:
            self.check(value, facts)

    def _in_range(self, value: float) -> None:
        if not math.isfinite(value):
            raise KeyProblem(f"= {value!r}: must be a finite number")
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not low <= value <= high:
            raise KeyProblem(f"= {value!r}: must be {low:g} to {high:g}")
        if self.positive and value <= 0:
            raise KeyProblem(f"= {value!r}: must be > 0")
        if low is not None and value < low:
            raise KeyProblem(f"= {value!r}: must be >= {low:g}")
        if high is not None and value > high:
            raise KeyProblem(f"= {value!r}: must be <= {high:g}")


@dataclass(frozen=True)
class BuildContext:
    """Everything a driver's `build` gets: its rig table and the rig around it."""

    name: str  # the instrument's name in the rig ([instruments.NAME])
    params: Mapping[str, Any]  # its keys, checked against the schema, defaults filled in
    rig: RigFacts
    csms: Any = None  # the bench's CSMS (network drivers act on the station's session)


@dataclass(frozen=True)
class SafeStep:
    """One step towards the safe state: does it, reads it back, returns the read-back.

    It raises NotSafe (instruments.errors) when the read-back shows the step did not take;
    the record names the step `<instrument name>.<label>` (e.g. `ev1.unplugged`)."""

    label: str
    run: Callable[[Any], Awaitable[Any]]
    doc: str = ""


def tcp_or_visa_resources(params: Mapping[str, Any]) -> list[str]:
    """Lock resources of a networked instrument: its VISA resource or host:port."""
    if params.get("resource"):
        return [f"visa:{params['resource']}"]
    if params.get("host"):
        return [f"tcp:{params['host']}:{params.get('port', '')}"]
    return []


@dataclass(frozen=True)
class DriverRegistration:
    """A driver as the bench knows it (see the module doc)."""

    name: str  # the rig file's `driver = "..."`
    role: str  # a key of instruments.roles.ROLES: ev, meter, card, reader, mains, network
    provides: type  # the Protocol (instruments.interfaces) the built object satisfies
    keys: Mapping[str, Key]  # its [instruments.NAME] keys besides `driver`
    build: Callable[[BuildContext], Any]
    doc: str = ""  # one line: which device family, over what
    binding: Binding = "rig"  # "connector": its `connector` key binds it to that connector
    safe_state: tuple[SafeStep, ...] = ()
    # which endpoint of the simulated rig (`bench sim`) stands in for it: modbus, scpi, vpcd
    sim_endpoint: str | None = None
    # the physical things it drives, locked for the duration of a run (bench/lock.py)
    lock_resources: Callable[[Mapping[str, Any]], list[str]] = tcp_or_visa_resources


# Keys several drivers share ---------------------------------------------------------------

CONNECTOR_KEY = Key(int, required=True, doc="station connector id (1 to [station] connectors)")
TCP_KEYS: dict[str, Key] = {
    "host": Key(str, required=True, doc="IP address or host name"),
    "port": Key(int, required=True, minimum=1, maximum=65535, doc="TCP port 1-65535"),
}
MODBUS_DEVICE_KEY = Key(int, required=True, minimum=0, maximum=247,
                        doc="Modbus device (unit) id 0-247")
RETRIES_KEY = Key(int, minimum=0, maximum=10, doc="bounded retries per request (0-10)")
TIMEOUT_KEYS: dict[str, Key] = {
    "timeout_s": Key((int, float), positive=True, doc="deadline of one I/O in seconds"),
}
VISA_KEYS: dict[str, Key] = {
    "resource": Key(str, required=True, doc="VISA resource string"),
    "visa_library": Key(str, default="@py", doc="pyvisa backend, e.g. @py"),
}

"""The drivers and SCPI dialects the bench can use, read from entry points.

    from instruments.registry import registry
    reg = registry().driver("modbus-ev")        # DriverRegistration, or RegistryError
    dialect = registry().dialect("yokogawa-wt")  # a scpi_meter.Dialect subclass

Group `bench.drivers`: name = "package.module:REGISTRATION" (an instruments.registration
DriverRegistration whose name is the entry point's). Group `bench.dialects`: name =
"package.module:DialectClass" (a subclass of instruments.scpi_meter.Dialect with that name).
The bench registers its own in its pyproject.toml; a lab's package does the same in its own,
and `pip install` of that package is all the bench needs to know its driver.

One broken entry point (an import error, a wrong object, a name two distributions claim)
spoils only its own name: a rig that uses it gets a RegistryError naming the distribution and
the entry point; every other command and driver works, and `bench check` lists the problem.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from instruments.registration import DriverRegistration
from instruments.roles import ROLES

DRIVER_GROUP = "bench.drivers"
DIALECT_GROUP = "bench.dialects"


class RegistryError(LookupError):
    """A driver or dialect the bench cannot use: unknown, or its entry point is broken."""


@dataclass(frozen=True)
class Origin:
    """Where a registration comes from: a distribution and one of its entry points."""

    distribution: str
    version: str
    group: str
    entry_point: str  # "name = module:attr"

    def __str__(self) -> str:
        return (f"distribution {self.distribution} {self.version} (entry point "
                f"[{self.group}] {self.entry_point})")


@dataclass(frozen=True)
class Problem:
    group: str
    name: str
    origins: tuple[Origin, ...]
    text: str

    def __str__(self) -> str:
        where = " and ".join(str(o) for o in self.origins)
        return f"{self.name!r} of {where}: {self.text}"


@dataclass
class Registry:
    drivers: dict[str, DriverRegistration] = field(default_factory=dict)
    dialects: dict[str, type] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)  # (group, name)
    problems: dict[tuple[str, str], Problem] = field(default_factory=dict)

    def driver(self, name: str) -> DriverRegistration:
        return self._get(DRIVER_GROUP, self.drivers, name, "driver")

    def dialect(self, name: str) -> type:
        return self._get(DIALECT_GROUP, self.dialects, name, "SCPI dialect")

    def origin(self, group: str, name: str) -> Origin | None:
        return self.origins.get((group, name))

    def _get(self, group: str, table: dict[str, Any], name: str, what: str) -> Any:
        if name in table:
            return table[name]
        problem = self.problems.get((group, name))
        if problem is not None:
            raise RegistryError(f"{what} {problem}")
        if not table:
            raise RegistryError(f"unknown {what} {name!r}: no {what} is registered at all (no "
                                f"entry points of group {group}; is the bench installed? run "
                                "`make setup`)")
        raise RegistryError(f"unknown {what} {name!r}; known {what}s: "
                            + ", ".join(sorted(table)))


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _entry_points(distributions: Iterable[md.Distribution]
                  ) -> list[tuple[md.EntryPoint, Origin]]:
    """Every bench entry point, once per distribution (the first of a name on the path wins,
    as for imports: a source tree's egg-info and its installed dist-info are one)."""
    seen: set[str] = set()
    out = []
    for dist in distributions:
        dist_name = dist.metadata["Name"] or "?"
        if _normalised(dist_name) in seen:
            continue
        seen.add(_normalised(dist_name))
        for ep in dist.entry_points:
            if ep.group in (DRIVER_GROUP, DIALECT_GROUP):
                out.append((ep, Origin(dist_name, dist.version, ep.group,
                                       f"{ep.name} = {ep.value}")))
    return out


def load(distributions: Iterable[md.Distribution] | None = None) -> Registry:
    """Read every registration (default: of the distributions on sys.path)."""
    reg = Registry()
    claimed: dict[tuple[str, str], list[Origin]] = {}
    eps = _entry_points(md.distributions() if distributions is None else distributions)
    for ep, origin in eps:
        claimed.setdefault((ep.group, ep.name), []).append(origin)
    for ep, origin in eps:
        key = (ep.group, ep.name)
        if len(claimed[key]) > 1:
            reg.problems[key] = Problem(ep.group, ep.name, tuple(claimed[key]),
                                        "registered by more than one distribution; uninstall "
                                        "one of them")
            continue
        try:
            obj = ep.load()
            problem = _check(ep.group, ep.name, obj)
        except Exception as exc:  # a lab's broken package must not break every command
            problem = f"cannot be loaded: {type(exc).__name__}: {exc}"
        if problem is not None:
            reg.problems[key] = Problem(ep.group, ep.name, (origin,), problem)
            continue
        reg.origins[key] = origin
        (reg.drivers if ep.group == DRIVER_GROUP else reg.dialects)[ep.name] = obj
    return reg


def _check(group: str, name: str, obj: Any) -> str | None:
    """Why `obj` cannot be the registration `name` of `group` (None: it can)."""
    if group == DIALECT_GROUP:
        from instruments.scpi_meter import Dialect

        if not (isinstance(obj, type) and issubclass(obj, Dialect)):
            return f"names {obj!r}, not a subclass of instruments.scpi_meter.Dialect"
        if obj.name != name:
            return f"the dialect calls itself {obj.name!r}, the entry point {name!r}"
        return None
    if not isinstance(obj, DriverRegistration):
        return (f"names a {type(obj).__name__}, not an "
                "instruments.registration.DriverRegistration")
    if obj.name != name:
        return f"the registration calls itself {obj.name!r}, the entry point {name!r}"
    role = ROLES.get(obj.role)
    if role is None:
        return f"role {obj.role!r} is not one of {', '.join(ROLES)}"
    if role.protocol not in getattr(obj.provides, "__mro__", ()):
        return (f"provides {getattr(obj.provides, '__name__', obj.provides)}, but role "
                f"{role.name!r} needs {role.protocol.__name__}")
    if obj.binding != role.binding:
        return f"binding {obj.binding!r}, but role {role.name!r} is bound per {role.binding}"
    if "driver" in obj.keys:
        return "declares a key 'driver' (the rig file's driver key is the bench's)"
    connector = obj.keys.get("connector")
    if obj.binding == "connector" and (connector is None or not connector.required):
        return "is bound to a connector but has no required key 'connector'"
    return None


@functools.cache
def registry() -> Registry:
    """The registry of this process (read once, on first use)."""
    return load()

"""Whether a case applies to this station: its `requires` against the rig's hardware feature
set, PICS and instruments (and, for `config_rw:KEY`, the station's GetConfiguration).

A requirement is a name from FEATURES, `profile:<Name>` (a supported feature profile),
`config_rw:<Key>` (the key exists and is writable), or `instrument:<role>` (the rig has such
an instrument). `not:<requirement>` negates one. Each answers with the reason shown for N/A.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.config.rig import DRIVERS, Rig

Check = Callable[[Rig], bool]

# name -> (predicate on the rig, what the rig must declare for the case to apply)
FEATURES: dict[str, tuple[Check, str]] = {
    "socket": (lambda r: not r.hardware.get("fixed_cable", False),
               "a socket (no fixed cable): [hardware] fixed_cable = false"),
    "fixed_cable": (lambda r: bool(r.hardware.get("fixed_cable", False)),
                    "a fixed cable: [hardware] fixed_cable = true"),
    "connector_lock": (lambda r: bool(r.hardware.get("connector_lock", False)),
                       "a connector lock that can fail: [hardware] connector_lock = true"),
    "cache": (lambda r: bool(r.hardware.get("authorization_cache", False)),
              "an authorization cache: [hardware] authorization_cache = true"),
    "local_auth_list": (lambda r: bool(r.hardware.get("local_auth_list", False)),
                        "a local authorization list: [hardware] local_auth_list = true"),
    "offline_auth": (lambda r: bool(r.hardware.get("offline_start", False)),
                     "offline authorisation: [hardware] offline_start = true"),
    "local_stop": (lambda r: bool(r.hardware.get("local_stop", False)),
                   "a local stop: [hardware] local_stop = true"),
    "backup_power": (lambda r: bool(r.hardware.get("backup_power", False)),
                     "back-up power: [hardware] backup_power = true"),
    "multiple_connectors": (lambda r: r.station.connectors >= 2,
                            "two or more connectors: [station] connectors >= 2"),
}


def _profiles(rig: Rig) -> list[str]:
    return list(rig.pics.get("feature_profiles", ["Core"]))


def _has_role(rig: Rig, role: str) -> bool:
    return any(DRIVERS.get(i.driver) and DRIVERS[i.driver].role == role
               for i in rig.instruments.values())


def unmet(requirement: str, rig: Rig, station_config: list[dict[str, Any]] | None) -> str | None:
    """None when met, else the reason (what the case requires and what the rig declares)."""
    negate = requirement.startswith("not:")
    req = requirement[4:] if negate else requirement
    kind, _, arg = req.partition(":")
    if kind == "profile":
        ok = arg in _profiles(rig)
        need = f"feature profile {arg} ([pics] feature_profiles = {_profiles(rig)})"
    elif kind == "instrument":
        ok = _has_role(rig, arg)
        need = f"an instrument of role {arg!r} in [instruments]"
    elif kind == "config_rw":
        if station_config is None:
            return None  # unknown before the station answered GetConfiguration: let it run
        entry = next((e for e in station_config if e.get("key") == arg), None)
        ok = entry is not None and not entry.get("readonly", False)
        state = "missing" if entry is None else ("read-only" if entry.get("readonly") else "RW")
        need = f"configuration key {arg} to be writable (station: {state})"
    elif req in FEATURES:
        check, need = FEATURES[req]
        ok = check(rig)
    else:
        known = ", ".join([*FEATURES, "profile:X", "config_rw:X", "instrument:X"])
        raise ValueError(f"unknown requirement {requirement!r} (known: {known})")
    if negate:
        return None if not ok else f"does not apply to a station with {need}"
    return None if ok else f"requires {need}"


def not_applicable_reason(requires: tuple[str, ...] | list[str], rig: Rig,
                          station_config: list[dict[str, Any]] | None = None) -> str | None:
    reasons = [r for r in (unmet(req, rig, station_config) for req in requires) if r]
    return "; ".join(reasons) if reasons else None

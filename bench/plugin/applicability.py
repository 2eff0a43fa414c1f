"""Whether a case applies to this station: its `requires` against the rig's hardware feature
set, PICS and instruments (and, for `config_rw:KEY`, the station's GetConfiguration).

A requirement is a name from FEATURES, `profile:<Name>` (a supported feature profile),
`config_rw:<Key>` (the key exists and is writable), `security_profile:<N>[,<M>]` (the rig's
[station] security_profile is one of these), or `instrument:<role>` (the rig has such
an instrument). `not:<requirement>` negates one. Each answers with the reason shown for N/A.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.config.rig import Rig

Check = Callable[[Rig], bool]


def _hw(key: str) -> Callable[[Rig], str]:
    """What the rig says about [hardware] key (a key left out reads as false)."""
    def says(rig: Rig) -> str:
        if key not in rig.hardware:
            return f"[hardware] {key} is not set (read as false)"
        return f"[hardware] {key} = {str(rig.hardware[key]).lower()}"
    return says


# name -> (predicate on the rig, what the case needs, what the rig says about it)
FEATURES: dict[str, tuple[Check, str, Callable[[Rig], str]]] = {
    "socket": (lambda r: not r.hardware.get("fixed_cable", False),
               "a socket (no fixed cable)", _hw("fixed_cable")),
    "fixed_cable": (lambda r: bool(r.hardware.get("fixed_cable", False)),
                    "a fixed cable", _hw("fixed_cable")),
    "connector_lock": (lambda r: bool(r.hardware.get("connector_lock", False)),
                       "a connector lock that can fail", _hw("connector_lock")),
    "cache": (lambda r: bool(r.hardware.get("authorization_cache", False)),
              "an authorization cache", _hw("authorization_cache")),
    "local_auth_list": (lambda r: bool(r.hardware.get("local_auth_list", False)),
                        "a local authorization list", _hw("local_auth_list")),
    "offline_auth": (lambda r: bool(r.hardware.get("offline_start", False)),
                     "offline authorisation", _hw("offline_start")),
    "local_stop": (lambda r: bool(r.hardware.get("local_stop", False)),
                   "a local stop", _hw("local_stop")),
    "backup_power": (lambda r: bool(r.hardware.get("backup_power", False)),
                     "back-up power", _hw("backup_power")),
    "local_list_store_fails": (lambda r: bool(r.hardware.get("local_list_store_fails", False)),
                               "a station where storing a local list fails",
                               _hw("local_list_store_fails")),
    "reserve_connector_zero": (lambda r: bool(r.hardware.get("reserve_connector_zero", False)),
                               "reservations of connector 0", _hw("reserve_connector_zero")),
    "rejects_reservations": (lambda r: bool(r.hardware.get("rejects_reservations", False)),
                             "a station configured not to accept reservations",
                             _hw("rejects_reservations")),
    "multiple_connectors": (lambda r: r.station.connectors >= 2,
                            "two or more connectors",
                            lambda r: f"[station] connectors = {r.station.connectors}"),
}


def _profiles(rig: Rig) -> list[str]:
    return list(rig.pics.get("feature_profiles", ["Core"]))


def _has_role(rig: Rig, role: str) -> bool:
    return bool(rig.instruments_of_role(role))


def _roles(rig: Rig) -> str:
    found = sorted(f"{i.name} ({i.role})" for i in rig.instruments.values())
    return ", ".join(found) or "none"


def unmet(requirement: str, rig: Rig, station_config: list[dict[str, Any]] | None) -> str | None:
    """None when met, else the reason: what the case requires and, separately, what the rig
    (or the station) says ("requires a socket (no fixed cable); the rig says [hardware]
    fixed_cable = true")."""
    negate = requirement.startswith("not:")
    req = requirement[4:] if negate else requirement
    kind, _, arg = req.partition(":")
    if kind == "profile":
        ok = arg in _profiles(rig)
        need, says = (f"feature profile {arg}",
                      f"the rig says [pics] feature_profiles = {_profiles(rig)}")
    elif kind == "instrument":
        ok = _has_role(rig, arg)
        need, says = (f"an instrument of role {arg!r}",
                      f"the rig's [instruments] are: {_roles(rig)}")
    elif kind == "security_profile":  # security_profile:2,3 (one of these profiles)
        wanted = [int(x) for x in arg.split(",")]
        ok = rig.station.security_profile in wanted
        need, says = (f"security profile {' or '.join(map(str, wanted))}",
                      f"the rig says [station] security_profile = "
                      f"{rig.station.security_profile}")
    elif kind == "config_rw":
        if station_config is None:
            return None  # unknown before the station answered GetConfiguration: let it run
        entry = next((e for e in station_config if e.get("key") == arg), None)
        ok = entry is not None and not entry.get("readonly", False)
        state = ("does not report it" if entry is None else
                 "reports it read-only" if entry.get("readonly") else "reports it writable")
        need, says = f"configuration key {arg} to be writable", f"the station {state}"
    elif req in FEATURES:
        check, need, rig_says = FEATURES[req]
        ok = check(rig)
        says = f"the rig says {rig_says(rig)}"
    else:
        known = ", ".join([*FEATURES, "profile:X", "config_rw:X", "instrument:X",
                           "security_profile:N"])
        raise ValueError(f"unknown requirement {requirement!r} (known: {known})")
    if negate:
        return None if not ok else f"does not apply to a station with {need}; {says}"
    return None if ok else f"requires {need}; {says}"


def not_applicable_reason(requires: tuple[str, ...] | list[str], rig: Rig,
                          station_config: list[dict[str, Any]] | None = None) -> str | None:
    reasons = [r for r in (unmet(req, rig, station_config) for req in requires) if r]
    return "; ".join(reasons) if reasons else None

"""The roles an instrument plays on a rig: the slots of the bench, each typed by a Protocol.

A driver registration names its role; the bench puts what the driver builds into that role's
slot (one per connector for a connector-bound role, one per rig otherwise), typing it by the
role's Protocol. Safe state visits the roles in `safe_order`: first nothing may charge (the
EV), then nothing may authorise (the card), then the reference integrators, the network last.
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.interfaces import (
    CardPresenter,
    CardReader,
    EvEmulator,
    MainsSwitch,
    NetworkCut,
    PowerMeter,
)
from instruments.registration import Binding


@dataclass(frozen=True)
class Role:
    name: str
    title: str  # how messages call it: "EV emulator"
    protocol: type
    binding: Binding
    safe_order: int
    # False: a run goes on when it fails to activate (the card reader is for enrolment only)
    campaign_needs: bool = True


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("ev", "EV emulator", EvEmulator, "connector", 0),
    Role("card", "card presenter", CardPresenter, "rig", 1),
    Role("meter", "power meter", PowerMeter, "connector", 2),
    Role("mains", "mains switch", MainsSwitch, "rig", 3),
    Role("reader", "card reader", CardReader, "rig", 4, campaign_needs=False),
    Role("network", "network cut", NetworkCut, "rig", 5),
)}


def protocol_members(protocol: type) -> list[str]:
    """The attributes and methods a Protocol asks for (its own and inherited ones)."""
    names: list[str] = []
    for klass in reversed(protocol.__mro__):
        if klass in (object,) or klass.__module__ == "typing":
            continue
        own = [*getattr(klass, "__annotations__", {}),
               *(n for n, v in vars(klass).items()
                 if not n.startswith("_") and (callable(v) or isinstance(v, property)))]
        names += [n for n in own if n not in names]
    return names


def missing_members(obj: object, protocol: type) -> list[str]:
    """What `obj` lacks of `protocol` (empty: it satisfies it)."""
    return [n for n in protocol_members(protocol) if not hasattr(obj, n)]

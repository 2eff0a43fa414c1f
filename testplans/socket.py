"""Steps of the socket cases (TC_005_1, TC_005_2, TC_018_1): the cable's station end."""

from __future__ import annotations

from bench.plugin import Case


async def pull_from_station(case: Case, n: int, why: str) -> int:
    """UNPLUG-CP: pull the cable's station end from the socket; the station must have let the
    lock go (`why` says what obliges it). The rig's own lock sensor and the cable's position
    are read back, so a cable kept locked fails with what was seen, not with a missing status
    later on. Returns the pull's stamp."""
    stamp = await case.bench.unplug_station_side(n)
    state = await case.bench.socket_state(n)
    lock = "closed" if state.lock_closed else "open"
    case.check(state.socket_plug == "out",
               f"the cable comes out of connector {n}'s socket ({why})",
               f"kept it locked: the rig's lock sensor reads {lock} and the cable is still "
               f"{state.socket_plug} after the pull")
    return stamp

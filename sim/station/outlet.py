"""The socket outlet of a station without a fixed cable: the cable's station end and its lock.

A socket station sees the cable in its socket (the station end, seated or half-inserted) and
the EV through the cable's control pilot; it drives a lock pin and reads its feedback, as a
real Type 2 socket does. It locks the cable while a session is being prepared or runs (and
after an EV-side unplug with UnlockConnectorOnEVSideDisconnect=false); a pin that does not
engage (a half-inserted plug) is a ConnectorLockFailure and the session does not start.
"""

from __future__ import annotations

from typing import Any

from sim.station.connector import ConnectorState


def occupied(phys: Any, fixed_cable: bool, sees_socket: bool = True) -> bool:
    """Something is plugged, as the station sees it: the EV on a fixed cable, the cable's
    station end in the socket otherwise. sees_socket=False (fault socket_cable_unseen): the
    station judges a socket by the EV end alone."""
    if fixed_cable or not sees_socket:
        return bool(phys.plugged)
    return getattr(phys, "socket_plug", "out") != "out"


def ev_present(phys: Any, fixed_cable: bool) -> bool:
    """The EV is at the end of the cable (a socket: through the cable in the socket)."""
    return bool(phys.plugged) and (fixed_cable or getattr(phys, "socket_plug", "out") != "out")


def drive_lock(c: ConnectorState, phys: Any, in_socket: bool, now: float, *,
               release_fails: bool = False, ignore_feedback: bool = False,
               release_delay_s: float = 0.0) -> None:
    """Command the lock pin and read its feedback. release_fails: StationConfig.lock_fails
    (the station's own lock cannot open); ignore_feedback: fault lock_failure_unreported;
    release_delay_s: behaviour lock_opens_late (the pin opens that long after the decision)."""
    if c.lock_failure and not in_socket:
        c.lock_failure = False  # the half-inserted plug is gone
    want = (in_socket and (c.tx is not None or c.pending is not None)) or c.hold_lock
    if want or not phys.locked:
        c.unlock_due = None
    elif release_delay_s > 0:
        c.unlock_due = now + release_delay_s if c.unlock_due is None else c.unlock_due
        if now < c.unlock_due:
            want = True  # the motor is still opening: the pin holds (the physics loop polls)
    if phys.locked != want and not (release_fails and phys.locked):
        phys.locked = want
    if (want and not phys.lock_closed and c.tx is None and c.pending is not None
            and not ignore_feedback):
        # the pin did not engage: no session on an unlocked cable (TC_024)
        c.lock_failure, c.pending = True, None
        phys.locked = False


def may_start(phys: Any, fixed_cable: bool, ignore_feedback: bool = False) -> bool:
    """A transaction starts only on a locked cable (a fixed cable needs no lock)."""
    return fixed_cable or ignore_feedback or bool(phys.lock_closed)

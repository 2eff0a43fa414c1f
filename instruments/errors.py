"""Errors of the instrument layer: every one names the instrument and its address."""

from __future__ import annotations


class InstrumentError(Exception):
    """An instrument did not do what it was told: I/O error, timeout, exception reply.

    The bench turns it into an ERROR verdict (a bench fault), never a FAIL of the station.
    """

    fatal = True  # the instrument stopped answering: later cases cannot trust the rig

    def __init__(self, instrument: str, address: str, message: str,
                 register: str | None = None, fatal: bool | None = None) -> None:
        if fatal is not None:
            self.fatal = fatal
        self.instrument = instrument
        self.address = address
        self.register = register
        self.detail = message
        where = f"{instrument} at {address}"
        if register:
            where += f", register {register}"
        super().__init__(f"{where}: {message}")


class InstrumentNotActive(InstrumentError):
    """A driver method was called before activate() or after deactivate()."""


class OperatorUnavailable(InstrumentError):
    """A manual step needs an operator and there is none (no terminal: a nightly run)."""

    fatal = False  # the case ends as ERROR; cases without manual steps can still run


class NotSupported(InstrumentError):
    """The device (or its dialect) has no command for this: an ERROR of the case only."""

    fatal = False


class NotSafe(Exception):
    """A safe-state step's read-back shows it did not take effect; carries the read-back."""

    def __init__(self, message: str, readback: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.readback = readback

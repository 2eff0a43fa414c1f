"""Errors of the twins."""


class TwinServerError(RuntimeError):
    """A twin server cannot start; the message names the twin, its address and the cause."""

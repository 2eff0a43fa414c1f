"""Loggers for websockets whose header lines never show a Basic-auth password.

websockets logs each HTTP header at DEBUG as ("%s: %s", name, value) on both the client and the
server side; the Authorization value is replaced before any handler sees it.
"""

from __future__ import annotations

import logging


class RedactAuthorization(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str)
                and args[0].lower() == "authorization"):
            record.args = (args[0], "<redacted>")
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The named logger with the filter attached once (hand it to connect() or serve())."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactAuthorization) for f in logger.filters):
        logger.addFilter(RedactAuthorization())
    return logger

"""Default answers to station-initiated CALLs, and per-case overrides.

A responder is `fn(payload) -> reply` where reply is a payload dict, a CallErrorReply,
NoReply() or Delayed(seconds, reply); it may also be a coroutine function. A non-callable
override is a constant reply.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from bench.csms.settings import CardInfo, CsmsSettings

Responder = Callable[[dict[str, Any]], Any]


def utc_timestamp() -> str:
    """OCPP dateTime: UTC, milliseconds, Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class DefaultAnswers:
    """What the bench answers when no case overrides it; shared by every station of a Csms."""

    def __init__(self, settings: CsmsSettings) -> None:
        self.settings = settings
        self._transaction_ids = itertools.count(1)

    def id_tag_info(self, id_tag: Any) -> dict[str, Any]:
        card = self.settings.cards.get(str(id_tag).upper()) if id_tag is not None else None
        return (card or CardInfo(str(id_tag), "Invalid")).id_tag_info()

    def table(self) -> dict[str, Responder]:
        return {
            "BootNotification": lambda p: {
                "status": "Accepted", "currentTime": utc_timestamp(),
                "interval": int(self.settings.heartbeat_interval_s)},
            "Heartbeat": lambda p: {"currentTime": utc_timestamp()},
            "Authorize": lambda p: {"idTagInfo": self.id_tag_info(p.get("idTag"))},
            "StartTransaction": lambda p: {
                "transactionId": next(self._transaction_ids),
                "idTagInfo": self.id_tag_info(p.get("idTag"))},
            "StopTransaction": lambda p: (
                {"idTagInfo": self.id_tag_info(p["idTag"])} if p.get("idTag") else {}),
            "MeterValues": lambda p: {},
            "StatusNotification": lambda p: {},
            "DataTransfer": lambda p: {"status": "UnknownVendorId"},
            "FirmwareStatusNotification": lambda p: {},
            "DiagnosticsStatusNotification": lambda p: {},
            # Security whitepaper: a CSR is accepted for signing; the case signs it and sends
            # CertificateSigned (testplans/security_steps.py)
            "SignCertificate": lambda p: {"status": "Accepted"},
            "SecurityEventNotification": lambda p: {},
            "LogStatusNotification": lambda p: {},
            "SignedFirmwareStatusNotification": lambda p: {},
        }


class Responders:
    """The answers of one station session: defaults plus the current case's overrides."""

    def __init__(self, defaults: dict[str, Responder]) -> None:
        self._defaults = defaults
        self._overrides: dict[str, Any] = {}

    def override(self, action: str, fn: Responder | Any) -> None:
        """Answer `action` with fn(payload) (or the constant `fn`) until reset()."""
        self._overrides[action] = fn

    def reset(self, action: str | None = None) -> None:
        """Back to the defaults: for one action, or all."""
        if action is None:
            self._overrides.clear()
        else:
            self._overrides.pop(action, None)

    def takes(self, action: str) -> bool:
        return action in self._overrides or action in self._defaults

    def lookup(self, action: str) -> Responder | None:
        fn = self._overrides.get(action)
        if fn is None:
            return self._defaults.get(action)
        if callable(fn):
            return fn
        return lambda _payload: fn

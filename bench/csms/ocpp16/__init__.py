"""OCPP 1.6-J as the endpoint speaks it: `OCPP16` is its OcppVersion (bench/csms/protocol.py).

Modules: catalogue (subprotocol, who sends which action, error codes), framing (strict parse,
serialise), schemas (the official JSON schemas -> CALLERROR codes).
"""

from __future__ import annotations

from typing import Any

from bench.csms.ocpp16 import catalogue, framing, schemas
from bench.csms.protocol import ParsedFrame, Violation


class Ocpp16:
    """The OcppVersion of OCPP 1.6-J."""

    name = "OCPP 1.6"
    subprotocol = catalogue.SUBPROTOCOL

    def parse(self, raw: str) -> ParsedFrame:
        return framing.parse(raw)

    def is_action(self, action: str) -> bool:
        return action in schemas.all_actions()

    def initiated_by_station(self, action: str) -> bool:
        return action in catalogue.STATION_ACTIONS

    def check_request(self, action: str, payload: Any) -> Violation | None:
        return schemas.check_request(action, payload)

    def check_response(self, action: str, payload: Any) -> Violation | None:
        return schemas.check_response(action, payload)

    def call_frame(self, msg_id: str, action: str, payload: Any) -> str:
        return framing.call_frame(msg_id, action, payload)

    def result_frame(self, msg_id: Any, payload: Any) -> str:
        return framing.result_frame(msg_id, payload)

    def error_frame(self, msg_id: Any, code: str, description: str,
                    details: Any = None) -> str:
        return framing.error_frame(msg_id, code, description, details)

    def recover_call_id(self, text: str) -> str | None:
        return framing.recover_call_id(text)

    def recover_id_from_bytes(self, data: bytes) -> str | None:
        return framing.recover_id_from_bytes(data)

    def warm_up(self) -> None:
        schemas.warm_up()


OCPP16 = Ocpp16()

__all__ = ["OCPP16", "Ocpp16", "catalogue", "framing", "schemas"]

"""OCPP-J framing and the schema check of the CSMS's CALLs (OCPP 1.6 JSON schemas)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp

CALL, CALLRESULT, CALLERROR = 2, 3, 4
_SCHEMA_DIR = Path(ocpp.__file__).parent / "v16" / "schemas"

# schema keyword that failed -> OCPP-J error code (OCPP-J 1.6 §4.2.3)
_RULE_TO_CODE = {
    "type": "TypeConstraintViolation",
    "required": "OccurenceConstraintViolation",
    "additionalProperties": "OccurenceConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
}


class CallError(Exception):
    """Answer the CALL being handled with this CALLERROR."""

    def __init__(self, code: str, description: str = "", details: dict | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.details = code, description, details or {}


@cache
def _validator(name: str):
    path = _SCHEMA_DIR / f"{name}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema.pop("$schema", None)  # draft-04 marker; fastjsonschema defaults fit
    return fastjsonschema.compile(schema)


def has_schema(action: str) -> bool:
    return _validator(action) is not None


def check_payload(name: str, payload: Any) -> None:
    """Raise CallError with the fitting OCPP-J code if `payload` breaks schema `name`."""
    if not isinstance(payload, dict):
        raise CallError("FormationViolation", "payload is not a JSON object")
    validator = _validator(name)
    if validator is None:
        return
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        code = _RULE_TO_CODE.get(exc.rule or "", "PropertyConstraintViolation")
        raise CallError(code, exc.message) from None


def call_frame(msg_id: str, action: str, payload: dict) -> str:
    return json.dumps([CALL, msg_id, action, payload], separators=(",", ":"))


def result_frame(msg_id: str, payload: dict) -> str:
    return json.dumps([CALLRESULT, msg_id, payload], separators=(",", ":"))


def error_frame(msg_id: str, code: str, description: str = "", details: dict | None = None) -> str:
    return json.dumps([CALLERROR, msg_id, code, description[:255], details or {}],
                      separators=(",", ":"))

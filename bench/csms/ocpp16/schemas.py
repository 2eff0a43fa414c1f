"""The official OCPP 1.6 JSON schemas (shipped in the `ocpp` package), compiled once.

A violation is mapped to the OCPP-J 1.6 CALLERROR code that fits it, so the receive loop
can answer a broken station CALL with the right code and the record can say why.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from bench.csms.protocol import Violation

# fastjsonschema rule -> OCPP-J 1.6 error code
_RULE_TO_CODE = {
    "type": "TypeConstraintViolation",
    "required": "OccurenceConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
    "additionalProperties": "FormationViolation",
    "enum": "PropertyConstraintViolation",
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
}


def _schema_package():
    return resources.files("ocpp") / "v16" / "schemas"


@cache
def all_actions() -> frozenset[str]:
    """Every OCPP 1.6 action that has a request schema."""
    names = {p.name[:-5] for p in _schema_package().iterdir() if p.name.endswith(".json")}
    return frozenset(n for n in names if not n.endswith("Response"))


@cache
def _validator(name: str):
    """Compiled validator of one schema file (request: Action, response: ActionResponse)."""
    path = _schema_package() / f"{name}.json"
    schema = json.loads(path.read_text("utf-8"))
    # fastjsonschema checks `date-time` by default and uses Decimal(repr(x)) for a float
    # multipleOf, so 0.3 against multipleOf 0.1 passes (tests/test_csms_schemas.py pins it).
    return fastjsonschema.compile(schema)


def _check(name: str, payload: Any) -> Violation | None:
    if not isinstance(payload, dict):
        return Violation("FormationViolation",
                         f"payload must be a JSON object, not {type(payload).__name__}")
    try:
        _validator(name)(payload)
    except fastjsonschema.JsonSchemaValueException as e:
        code = _RULE_TO_CODE.get(e.rule or "", "FormationViolation")
        message = e.message
        if message.startswith("data."):
            message = message[5:]
        elif message.startswith("data "):
            message = "payload " + message[5:]
        return Violation(code, message, e.rule)
    return None


def check_request(action: str, payload: Any) -> Violation | None:
    """None when `payload` is a valid `action` request; the action must exist (all_actions)."""
    return _check(action, payload)


def check_response(action: str, payload: Any) -> Violation | None:
    """None when `payload` is a valid CALLRESULT payload of `action`."""
    return _check(f"{action}Response", payload)


def warm_up() -> None:
    """Compile every schema now, so no first message pays for compilation."""
    for action in all_actions():
        _validator(action)
        _validator(f"{action}Response")

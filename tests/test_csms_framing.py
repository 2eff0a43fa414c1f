"""OCPP-J 1.6 framing and schema verdicts (bench/csms/ocpp16/), without a socket."""

from __future__ import annotations

import pytest

from bench.csms.matching import matches
from bench.csms.ocpp16 import OCPP16, catalogue, framing, schemas


def test_well_formed_call():
    f = framing.parse('[2,"42","Heartbeat",{}]')
    got = (f.msg_type, f.msg_id, f.action, f.payload, f.problem)
    assert got == (2, "42", "Heartbeat", {}, None)


@pytest.mark.parametrize(("raw", "finding", "code", "msg_id"), [
    ('[2,"7","Heartbeat",{', "frame-not-json", "FormationViolation", "7"),
    ("hello", "frame-not-json", "FormationViolation", None),
    ('{"a": 1}', "frame-not-array", "FormationViolation", None),
    ("[]", "frame-not-array", "FormationViolation", None),
    ('[9,"7","Heartbeat",{}]', "unknown-message-type", "ProtocolError", "7"),
    ('[2,"7","Heartbeat"]', "call-wrong-length", "ProtocolError", "7"),
    ('[2,"7",12,{}]', "action-not-string", "FormationViolation", "7"),
    ('[2,"7","Teleport",{}]', "unknown-action", "NotImplemented", "7"),
    ('[2,null,"Heartbeat",{}]', "msg-id-unreadable", "FormationViolation", None),
    ('[2,"7","Heartbeat",{"x":NaN}]', "frame-not-json", "FormationViolation", "7"),
    ('[2,"\\ud800\\"7","Heartbeat",{', "frame-not-json", "FormationViolation", '\ud800"7'),
    ('[2,"7","Heartbeat",{"x":' + "[" * 20 + "]" * 20 + "}]",
     "frame-too-deep", "FormationViolation", "7"),
    ('[2,"7","Heartbeat",{"x":' + "[" * 5000 + "]" * 5000 + "}]",  # past the recursion limit
     "frame-too-deep", "FormationViolation", "7"),
    ("[" * 3000 + "]" * 3000, "frame-too-deep", "FormationViolation", None),
])
def test_broken_frames(raw, finding, code, msg_id):
    f = framing.parse(raw)
    assert f.problem is not None
    assert (f.problem.finding, f.problem.code) == (finding, code)
    assert (f.msg_id if f.id_readable else None) == msg_id


def test_numeric_and_long_ids_are_findings_not_problems():
    f = framing.parse('[2,17,"Heartbeat",{}]')
    assert f.problem is None and f.msg_id == 17
    assert [n for n, _ in f.findings] == ["msg-id-not-string"]
    f = framing.parse('[2,"' + "x" * 37 + '","Heartbeat",{}]')
    assert [n for n, _ in f.findings] == ["msg-id-too-long"]


def test_callerror_with_unknown_code_is_read_and_flagged():
    f = framing.parse('[4,"1","FormatViolation","bad",{}]')  # 2.0.1 spelling
    assert f.error is not None and f.error.code == "FormatViolation"
    assert [n for n, _ in f.findings] == ["callerror-unknown-code"]


@pytest.mark.parametrize(("payload", "code"), [
    ({"chargePointVendor": "A"}, "OccurenceConstraintViolation"),
    ({"chargePointVendor": 5, "chargePointModel": "M"}, "TypeConstraintViolation"),
    ({"chargePointVendor": "A" * 21, "chargePointModel": "M"}, "PropertyConstraintViolation"),
    ({"chargePointVendor": "A", "chargePointModel": "M", "x": 1}, "FormationViolation"),
    ([1, 2], "FormationViolation"),
])
def test_schema_violation_codes(payload, code):
    v = schemas.check_request("BootNotification", payload)
    assert v is not None and v.code == code


def test_date_time_format_is_checked():
    base = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    ok = {**base, "timestamp": "2026-11-23T10:00:00Z"}
    assert schemas.check_request("StatusNotification", ok) is None
    v = schemas.check_request("StatusNotification", {**base, "timestamp": "23/11/2026 10:00"})
    assert v is not None and v.code == "PropertyConstraintViolation" and v.rule == "format"


def _profile(limit):
    return {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}}


@pytest.mark.parametrize("limit", [0.3, 7.7, 32.3, 16, 0.1 + 0.2])
def test_multiple_of_is_exact_for_floats(limit):
    # 0.3 / 0.1 == 2.9999999999999996 in binary floating point: must not fail spuriously
    if limit == 0.1 + 0.2:  # 0.30000000000000004 really is not a multiple of 0.1
        assert schemas.check_request("SetChargingProfile", _profile(limit)) is not None
    else:
        assert schemas.check_request("SetChargingProfile", _profile(limit)) is None


def test_every_station_action_has_schemas():
    for action in catalogue.STATION_ACTIONS:
        assert action in schemas.all_actions()
        assert OCPP16.is_action(action) and OCPP16.initiated_by_station(action)
    assert not OCPP16.initiated_by_station("RemoteStartTransaction")


def test_subset_matching():
    p = {"connectorId": 1, "status": "Charging", "meta": {"a": 1, "b": 2}}
    assert matches(p, {"connectorId": 1, "meta": {"a": 1}})
    assert matches(p, {"status": lambda s: s.startswith("Char")})
    assert not matches(p, {"status": "Available"})
    assert not matches(p, {"missing": lambda v: True})
    assert not matches(p, {"meta": {"a": 2}})


def test_lone_surrogates_are_parsed_flagged_and_echoed_as_escapes():
    f = framing.parse('[2,"\\udc00x","BootNotification",'
                      '{"chargePointVendor":"\\ud800","chargePointModel":"M"}]')
    assert f.problem is None and f.msg_id == "\udc00x"
    assert [n for n, _ in f.findings] == ["lone-surrogate"]
    assert not framing.parse('[2,"a","Heartbeat",{"x":"\\ud83d\\ude00"}]').findings  # a pair
    out = framing.result_frame(f.msg_id, {})
    assert out == '[3,"\\udc00x",{}]' and out.encode("utf-8")  # sendable, same id when read
    desc = framing.parse('[2,"i","\\u001b[2J\\ud800",{}]').problem.description
    assert desc == "action \\x1b[2J\\ud800 does not exist in OCPP 1.6"

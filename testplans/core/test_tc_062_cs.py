"""TC_062_CS Data Transfer to a Charge Point (docs/catalogue.md; PW id, EV
`test_data_transfer_to_chargepoint`; name INF).

DataTransfer(vendorId unknown to the station) -> Rejected or UnknownVendorId (a CALLERROR or
Accepted fails).
"""

import pytest

from testplans.ocpp import check_answer

pytestmark = pytest.mark.octt("TC_062_CS", "Data Transfer to a Charge Point")

UNKNOWN_VENDOR = "org.octt.bench.unknown-vendor"


async def test_tc_062_cs(case, station):
    with case.step(f"DataTransfer(vendorId {UNKNOWN_VENDOR}): Rejected or UnknownVendorId"):
        res = await station.call("DataTransfer", {"vendorId": UNKNOWN_VENDOR,
                                                  "messageId": "TestMessage", "data": "test"})
        check_answer(case, res, ("Rejected", "UnknownVendorId"),
                     f"DataTransfer(vendorId {UNKNOWN_VENDOR})")

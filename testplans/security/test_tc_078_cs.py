"""TC_078_CS Invalid CentralSystemCertificate Security Event (docs/catalogue.md).

InstallCertificate(CentralSystemRootCertificate, a CA certificate that expired) -> Rejected,
and SecurityEventNotification(InvalidCentralSystemCertificate).
"""

import pytest

from bench.pki import pem_of
from testplans.ocpp import check_answer
from testplans.security_steps import CENTRAL_SYSTEM_ROOT, expect_security_event

pytestmark = pytest.mark.octt("TC_078_CS", "Invalid CentralSystemCertificate Security Event",
                              requires=("profile:Security",),
                              measures=("security.event_latency.InvalidCentralSystemCertificate",))


async def test_tc_078_cs(case, station, pki):
    expired = pki.foreign_certificate("Bench expired CA", ca=True, expired=True)
    with case.step("InstallCertificate(CentralSystemRootCertificate, expired): Rejected"):
        res = await station.call("InstallCertificate",
                                 {"certificateType": CENTRAL_SYSTEM_ROOT,
                                  "certificate": pem_of(expired)})
        check_answer(case, res, "Rejected", "InstallCertificate(expired CA)")
    with case.step("SecurityEventNotification(InvalidCentralSystemCertificate)"):
        await expect_security_event(case, "InvalidCentralSystemCertificate", res)

"""TC_077_CS Invalid ChargePointCertificate Security Event (docs/catalogue.md).

CertificateSigned with a certificate no root of the bench vouches for (self-signed, CN the
identity) -> Rejected, and SecurityEventNotification(InvalidChargePointCertificate).
"""

import pytest

from bench.pki import pem_of
from testplans.ocpp import check_answer
from testplans.security_steps import expect_security_event

pytestmark = pytest.mark.octt("TC_077_CS", "Invalid ChargePointCertificate Security Event",
                              requires=("profile:Security",),
                              measures=("security.event_latency.InvalidChargePointCertificate",))


async def test_tc_077_cs(case, station, pki):
    foreign = pki.foreign_certificate(station.id)
    with case.step("CertificateSigned(a certificate of no known CA): Rejected"):
        res = await station.call("CertificateSigned", {"certificateChain": pem_of(foreign)})
        check_answer(case, res, "Rejected", "CertificateSigned")
    with case.step("SecurityEventNotification(InvalidChargePointCertificate)"):
        await expect_security_event(case, "InvalidChargePointCertificate", res)

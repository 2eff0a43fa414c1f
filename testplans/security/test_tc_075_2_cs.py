"""TC_075_2_CS Install a certificate – CentralSystemRootCertificate (docs/catalogue.md).

InstallCertificate(CentralSystemRootCertificate, the bench's root) -> Accepted;
GetInstalledCertificateIds(CentralSystemRootCertificate) then lists it (hash data computed by the
bench). It stays installed: the cases after it build on the bench's roots.
"""

import pytest

from testplans.security_steps import CENTRAL_SYSTEM_ROOT, check_listed, install

pytestmark = pytest.mark.octt("TC_075_2_CS", "Install a certificate – CentralSystemRootCertificate",
                              requires=("profile:Security",))


async def test_tc_075_2_cs(case, station, pki):
    cert = pki.cert("central_system_root")
    with case.step("InstallCertificate(CentralSystemRootCertificate): Accepted"):
        await install(case, CENTRAL_SYSTEM_ROOT, cert)
    with case.step("GetInstalledCertificateIds(CentralSystemRootCertificate) lists it"):
        await check_listed(case, pki, CENTRAL_SYSTEM_ROOT, cert, True, "after InstallCertificate")

"""TC_075_1_CS Install a certificate – ManufacturerRootCertificate (docs/catalogue.md).

InstallCertificate(ManufacturerRootCertificate, the bench's root) -> Accepted;
GetInstalledCertificateIds(ManufacturerRootCertificate) then lists it (hash data computed by the
bench). It stays installed: the cases after it build on the bench's roots.
"""

import pytest

from testplans.security_steps import MANUFACTURER_ROOT, check_listed, install

pytestmark = pytest.mark.octt("TC_075_1_CS", "Install a certificate – ManufacturerRootCertificate",
                              requires=("profile:Security",))


async def test_tc_075_1_cs(case, station, pki):
    cert = pki.cert("manufacturer_root")
    with case.step("InstallCertificate(ManufacturerRootCertificate): Accepted"):
        await install(case, MANUFACTURER_ROOT, cert)
    with case.step("GetInstalledCertificateIds(ManufacturerRootCertificate) lists it"):
        await check_listed(case, pki, MANUFACTURER_ROOT, cert, True, "after InstallCertificate")

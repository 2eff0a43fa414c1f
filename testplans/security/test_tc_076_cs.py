"""TC_076_CS Delete a specific certificate (docs/catalogue.md).

Three CA certificates installed (CentralSystemRootCertificate); each deleted by hash data in
one of the whitepaper's algorithms (SHA256, SHA384, SHA512), computed by the bench ->
Accepted; GetInstalledCertificateIds no longer lists it; deleting it again -> NotFound.
"""

import pytest

from testplans.ocpp import check_answer
from testplans.security_steps import CENTRAL_SYSTEM_ROOT, check_listed, install

pytestmark = pytest.mark.octt("TC_076_CS", "Delete a specific certificate",
                              requires=("profile:Security",))

ALGORITHMS = ("SHA256", "SHA384", "SHA512")


async def test_tc_076_cs(case, station, pki):
    certs = {alg: pki.extra_root(f"Bench TC_076 {alg} CA") for alg in ALGORITHMS}
    with case.step("InstallCertificate x3 (CentralSystemRootCertificate): Accepted"):
        for cert in certs.values():
            await install(case, CENTRAL_SYSTEM_ROOT, cert)
    for alg, cert in certs.items():
        hash_data = pki.hash_data(cert, alg)
        with case.step(f"DeleteCertificate({alg} hash data): Accepted"):
            res = await station.call("DeleteCertificate", {"certificateHashData": hash_data})
            check_answer(case, res, "Accepted", f"DeleteCertificate({alg} hash data)")
        with case.step(f"GetInstalledCertificateIds no longer lists the {alg} one"):
            await check_listed(case, pki, CENTRAL_SYSTEM_ROOT, cert, False,
                               f"after its DeleteCertificate by {alg}")
        with case.step(f"DeleteCertificate({alg} hash data) again: NotFound"):
            again = await station.call("DeleteCertificate", {"certificateHashData": hash_data})
            check_answer(case, again, "NotFound", f"DeleteCertificate({alg}) of a deleted one")

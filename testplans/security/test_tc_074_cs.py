"""TC_074_CS Update Charge Point Certificate by request of Central System (docs/catalogue.md).

ExtendedTriggerMessage(SignChargePointCertificate) -> Accepted; SignCertificate(CSR): a valid
PKCS#10 request signed by its key, the key at least 2048 bits (RSA/DSA) or 224 bits (EC), the
subject's CN the charge point identity and O the CpoName; the bench's station CA signs it;
CertificateSigned -> Accepted. At profile 3 the station must then reconnect with the new
certificate (the endpoint verifies it under the bench's station CA, the CN = the identity):
the TLS client certificate of the new connection must be the one the bench signed.
"""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from bench.pki import public_key_bits
from testplans.ocpp import check_answer, expect, get_config, triggered
from testplans.security_steps import CENTRAL_SYSTEM_ROOT, ensure_root, wait_new_connection

pytestmark = pytest.mark.octt("TC_074_CS", "Update Charge Point Certificate by request of "
                              "Central System", requires=("profile:Security",),
                              measures=("triggered.sign_certificate", "security.csr_key_bits"))

MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 224}  # the whitepaper's key sizes


def _attr(name: x509.Name, oid) -> str | None:
    found = name.get_attributes_for_oid(oid)
    return str(found[0].value) if found else None


async def test_tc_074_cs(case, station, pki, rig, bench_ctx):
    with case.step("pre-state: the bench's Central System root installed"):
        await ensure_root(case, pki, CENTRAL_SYSTEM_ROOT)
        cpo = (await get_config(case, "CpoName"))["CpoName"]
    with case.step("ExtendedTriggerMessage(SignChargePointCertificate): Accepted"):
        res = await station.call("ExtendedTriggerMessage",
                                 {"requestedMessage": "SignChargePointCertificate"})
        check_answer(case, res, "Accepted", "ExtendedTriggerMessage")
    with case.step("SignCertificate with a CSR for the station"):
        msg = await expect(case, "SignCertificate", after=res.sent_mono_ns,
                           trigger="the ExtendedTriggerMessage")
        triggered(case, "triggered.sign_certificate", res, msg)
        try:
            csr = x509.load_pem_x509_csr(msg.payload["csr"].encode("ascii", "replace"))
            readable = csr.is_signature_valid
        except ValueError as exc:
            csr, readable = None, False
            why = str(exc)
        case.check(readable, "a PEM PKCS#10 CSR signed by its own key",
                   f"sent one that is not ({why if csr is None else 'bad signature'}, "
                   f"seq {msg.seq})", at=msg.mono_ns)
        key = csr.public_key()
        kind = type(key).__name__.removeprefix("_").split("PublicKey")[0].upper()
        kind = "EC" if "ELLIPTIC" in kind else kind
        bits = public_key_bits(key)
        case.measure("security.csr_key_bits", bits, evidence=[msg.seq])
        need = MIN_BITS.get(kind, 2048)
        case.check(bits >= need, f"a CSR key of at least {need} bits ({kind})",
                   f"sent a {bits}-bit {kind} key (seq {msg.seq})", at=msg.mono_ns)
        cn, org = _attr(csr.subject, NameOID.COMMON_NAME), _attr(csr.subject,
                                                                 NameOID.ORGANIZATION_NAME)
        case.check(cn == station.id, f"CSR commonName {station.id!r} (the identity)",
                   f"sent CN {cn!r}", at=msg.mono_ns)
        case.check(org == cpo, f"CSR organizationName {cpo!r} (CpoName)", f"sent O {org!r}",
                   at=msg.mono_ns)
    profile3 = rig.station.security_profile == 3
    if profile3:  # the endpoint must know the CA before the station shows the certificate
        bench_ctx.csms.trust_station_ca(pki.pem("station_ca") + pki.pem("central_system_root"))
    generation = station.generation
    with case.step("CertificateSigned(the signed chain): Accepted"):
        cert = pki.sign_csr(csr)
        signed = await station.call("CertificateSigned",
                                    {"certificateChain": pki.chain_pem(cert)})
        check_answer(case, signed, "Accepted", "CertificateSigned")
    if not profile3:
        case.passed("the new certificate's use on a TLS connection is judged at profile 3 "
                    f"only (the rig is at profile {rig.station.security_profile})")
        return
    with case.step("the station reconnects at profile 3 with the new certificate"):
        await wait_new_connection(case, generation, case.setting("security_reconnect_s"),
                                  "a connection with the certificate the bench signed")
        shown = station.link.transport.ssl_object.getpeercert(binary_form=True)
        case.check(shown == cert.public_bytes(serialization.Encoding.DER),
                   "the TLS client certificate to be the one the bench signed",
                   "showed another (serial "
                   f"{x509.load_der_x509_certificate(shown).serial_number:x})" if shown
                   else "showed none")

"""The simulated station's Security whitepaper (sim/station/whitepaper.py), conformant side,
on the bench's CSMS over loopback: what it answers, what it keeps, what it refuses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_station_support import STATION_ID, station_rig, wait_until

from bench.pki import BenchPki, pem_of
from sim.station import PersistentStore

WHITEPAPER = {"security_whitepaper": True}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> BenchPki:
    return BenchPki.create(tmp_path_factory.mktemp("pki"))


async def test_keys_of_the_whitepaper(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=WHITEPAPER) as rig:
        res = await rig.cs.call("GetConfiguration", {"key": ["AuthorizationKey",
                                                              "SecurityProfile", "CpoName"]})
        values = {k["key"]: k["value"] for k in res.get("configurationKey")}
        assert values["AuthorizationKey"] == "(write-only)" and values["SecurityProfile"] == "0"
        for key, value in (("AuthorizationKey", "not hex"), ("AuthorizationKey", "00" * 8),
                           ("SecurityProfile", "0"), ("SecurityProfile", "2"),
                           ("SecurityProfile", "3")):
            res = await rig.cs.call("ChangeConfiguration", {"key": key, "value": value})
            assert res.get("status") == "Rejected", (key, value)  # 2: no root installed


async def test_the_smartdc_default_has_no_whitepaper(tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("GetInstalledCertificateIds",
                                {"certificateType": "CentralSystemRootCertificate"})
        assert res.error is not None and res.error.code == "NotSupported"


async def test_certificate_signing_end_to_end(tmp_path: Path, pki: BenchPki) -> None:
    from cryptography import x509

    store = PersistentStore(tmp_path / "store.json")
    async with station_rig(tmp_path, station=WHITEPAPER, store=store) as rig:
        await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate",
            "certificate": pki.pem("central_system_root")})
        await rig.cs.call("ExtendedTriggerMessage",
                          {"requestedMessage": "SignChargePointCertificate"})
        msg = await rig.cs.expect("SignCertificate", within=5)
        csr = x509.load_pem_x509_csr(msg.payload["csr"].encode())
        chain = pki.chain_pem(pki.sign_csr(csr))
        res = await rig.cs.call("CertificateSigned", {"certificateChain": chain})
        assert res.get("status") == "Accepted"
        # someone else's key under the right CA: refused, with its security event
        other = await rig.cs.call("CertificateSigned", {
            "certificateChain": pki.chain_pem(pki.sign_csr(_csr_for(STATION_ID)))})
        assert other.get("status") == "Rejected"
        event = await rig.cs.expect("SecurityEventNotification",
                                    {"type": "InvalidChargePointCertificate"}, 5)
        assert "not for the station's key" in event.payload["techInfo"]
    assert store.get("station_certificate") == chain  # kept in flash


def _csr_for(cn: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    return x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])).sign(key, hashes.SHA256())


async def test_log_upload_that_fails_reports_upload_failure(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=WHITEPAPER) as rig:
        await rig.cs.call("GetLog", {"logType": "SecurityLog", "requestId": 3,
                                     "log": {"remoteLocation": "http://127.0.0.1:9/up/"}})
        await rig.cs.expect("LogStatusNotification", {"status": "Uploading"}, 5)
        await rig.cs.expect("LogStatusNotification", {"status": "UploadFailure"}, 5)
        res = await rig.cs.call("GetLog", {"logType": "DiagnosticsLog", "requestId": 4,
                                           "log": {"remoteLocation": "http://127.0.0.1:9/"}})
        assert res.get("status") == "Rejected"  # only the security log here


async def test_firmware_signer_not_under_an_installed_root(tmp_path: Path,
                                                           pki: BenchPki) -> None:
    async with station_rig(tmp_path, station=WHITEPAPER) as rig:
        res = await rig.cs.call("SignedUpdateFirmware", {"requestId": 9, "firmware": {
            "location": "http://127.0.0.1:9/fw.bin", "retrieveDateTime": "2026-01-01T00:00:00Z",
            "signingCertificate": pki.pem("firmware_signer"),
            "signature": pki.sign_firmware(b"x")}})
        assert res.get("status") == "InvalidCertificate"
        await rig.cs.expect("SecurityEventNotification",
                            {"type": "InvalidFirmwareSigningCertificate"}, 5)


async def test_security_events_wait_for_the_connection(tmp_path: Path) -> None:
    """An event while offline is kept (in the store) and sent once the station is back."""
    store = PersistentStore(tmp_path / "store.json")
    async with station_rig(tmp_path, station=WHITEPAPER, store=store) as rig:
        await rig.cs.expect("SecurityEventNotification", {"type": "StartupOfTheDevice"}, 5)
        generation = rig.cs.generation
        await rig.cs.disconnect(refuse_for=1.0)
        rig.sim.whitepaper.event("TamperDetectionActivated", "test")
        await asyncio.sleep(0.2)
        assert store.get("security_events")  # not delivered yet
        await rig.new_connection(generation)
        await rig.cs.expect("SecurityEventNotification", {"type": "TamperDetectionActivated"},
                            5)
        await wait_until(lambda: not store.get("security_events"), 5, "the queue emptied")
        log = store.get("security_log")
        assert any("TamperDetectionActivated test" in line for line in log)


async def test_deleted_by_any_algorithm(tmp_path: Path, pki: BenchPki) -> None:
    async with station_rig(tmp_path, station=WHITEPAPER) as rig:
        roots = [pki.extra_root(f"root {n}") for n in range(3)]
        for root in roots:
            await rig.cs.call("InstallCertificate", {
                "certificateType": "ManufacturerRootCertificate", "certificate": pem_of(root)})
        listed = await rig.cs.call("GetInstalledCertificateIds",
                                   {"certificateType": "ManufacturerRootCertificate"})
        assert listed.get("certificateHashData") == [pki.hash_data(r, "SHA256") for r in roots]
        for root, alg in zip(roots, ("SHA256", "SHA384", "SHA512"), strict=True):
            res = await rig.cs.call("DeleteCertificate",
                                    {"certificateHashData": pki.hash_data(root, alg)})
            assert res.get("status") == "Accepted", alg
        res = await rig.cs.call("GetInstalledCertificateIds",
                                {"certificateType": "ManufacturerRootCertificate"})
        assert res.get("status") == "NotFound"


async def test_renewed_certificate_used_at_profile_3(tmp_path: Path, pki: BenchPki) -> None:
    from cryptography import x509
    from pki_support import make_pki

    tls = make_pki(tmp_path / "tls", {"csms": ("127.0.0.1", "127.0.0.1"),
                                      "station": (STATION_ID, None)})
    async with station_rig(tmp_path, station=WHITEPAPER, client_tls=tls) as rig:
        rig.csms.trust_station_ca(pki.pem("station_ca") + pki.pem("central_system_root"))
        await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate",
            "certificate": pki.pem("central_system_root")})
        await rig.cs.call("ExtendedTriggerMessage",
                          {"requestedMessage": "SignChargePointCertificate"})
        csr = x509.load_pem_x509_csr((await rig.cs.expect("SignCertificate", within=5))
                                     .payload["csr"].encode())
        cert = pki.sign_csr(csr)
        generation = rig.cs.generation
        res = await rig.cs.call("CertificateSigned", {"certificateChain": pki.chain_pem(cert)})
        assert res.get("status") == "Accepted"
        await rig.new_connection(generation)
        shown = rig.cs.link.transport.ssl_object.getpeercert(binary_form=True)
        assert x509.load_der_x509_certificate(shown) == cert

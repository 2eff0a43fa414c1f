"""The bench's PKI (bench/pki.py): who signs whom, what lies where, and hash data that
agrees with an independent computation (cryptography's OCSP CertID)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from bench.pki import HASH_ALGORITHMS, BenchPki, verify_signature


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> BenchPki:
    return BenchPki.create(tmp_path_factory.mktemp("run"), "127.0.0.1")


def test_each_certificate_is_issued_by_its_party(pki: BenchPki) -> None:
    issued_by = {"csms_server": "central_system_root", "station_ca": "central_system_root",
                 "firmware_signer": "manufacturer_root",
                 "central_system_root": "central_system_root",
                 "manufacturer_root": "manufacturer_root"}
    for name, issuer in issued_by.items():
        pki.cert(name).verify_directly_issued_by(pki.cert(issuer))
    ca = pki.cert("station_ca").extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca.value.ca


def test_public_certificates_in_snapshots_keys_only_in_private(pki: BenchPki) -> None:
    run_dir = pki.public_dir.parent.parent
    public = sorted(p.name for p in pki.public_dir.iterdir())
    assert public == sorted(f"{n}.pem" for n in pki.parties)
    for p in pki.public_dir.iterdir():
        assert "PRIVATE KEY" not in p.read_text("ascii")
    assert pki.private_dir == run_dir / "private" / "pki"
    assert stat.S_IMODE(pki.private_dir.stat().st_mode) == 0o700
    for key in pki.private_dir.iterdir():
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    snap = pki.public_snapshot()
    assert "PRIVATE" not in str(snap) and "CN=127.0.0.1" in snap["csms_server"]["subject"]


def test_a_signed_csr_keeps_its_subject_and_key(pki: BenchPki) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-1")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    cert = pki.sign_csr(csr)
    assert cert.subject == name and cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(pki.cert("station_ca"))
    chain = x509.load_pem_x509_certificates(pki.chain_pem(cert).encode())
    assert [c.subject for c in chain] == [name, pki.cert("station_ca").subject]


@pytest.mark.parametrize("algorithm", sorted(HASH_ALGORITHMS))
def test_hash_data_is_the_ocsp_cert_id(pki: BenchPki, algorithm: str) -> None:
    cert, issuer = pki.cert("station_ca"), pki.cert("central_system_root")
    h = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, h[algorithm]).build()
    data = pki.hash_data(cert, algorithm)
    assert data["hashAlgorithm"] == algorithm
    assert data["issuerNameHash"] == req.issuer_name_hash.hex()
    assert data["issuerKeyHash"] == req.issuer_key_hash.hex()
    assert int(data["serialNumber"], 16) == req.serial_number


def test_server_certificate_names_every_address(tmp_path: Path) -> None:
    import ipaddress

    pki = BenchPki.create(tmp_path, ["192.0.2.7", "127.0.0.1", "csms.lab"])
    san = pki.cert("csms_server").extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.0.2.7"),
                                                       ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["csms.lab"]


def test_firmware_signature_verifies_only_for_its_bytes(pki: BenchPki) -> None:
    signature = base64.b64decode(pki.sign_firmware(b"image"))
    key = pki.cert("firmware_signer").public_key()
    assert verify_signature(key, signature, b"image")
    assert not verify_signature(key, signature, b"image!")


def test_refused_kinds_of_certificate(pki: BenchPki, tmp_path: Path) -> None:
    import datetime as dt

    expired = pki.foreign_certificate("old", ca=True, expired=True)
    assert expired.not_valid_after_utc < dt.datetime.now(dt.UTC)
    foreign = pki.foreign_certificate("CP-1")
    assert foreign.issuer == foreign.subject  # no root of the bench vouches for it
    root = pki.extra_root("extra")
    assert root.issuer == root.subject

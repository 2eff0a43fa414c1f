"""The bench's own PKI for the Security profile cases, made per run with `cryptography`.

Five parties, as the OCPP 1.6 Security whitepaper names them: a Central System root, a
manufacturer root, the CSMS server certificate (under the Central System root), a CA that
signs station certificates (under the Central System root) and a firmware signing
certificate (under the manufacturer root). Public certificates go to `<run>/snapshots/pki/`
(part of the record); private keys go to `<run>/private/pki/`, a folder no report reads and
no record line names. EC P-256 keys throughout: quick to make, accepted by every TLS stack.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID

PRIVATE_DIR = "private"  # under the run directory: never rendered, never in a record line
ORGANISATION = "OCPP HIL Bench"

# the whitepaper's hashAlgorithm enum -> hashlib name
HASH_ALGORITHMS = {"SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}


@dataclass(frozen=True, slots=True)
class Party:
    """One certificate of the bench's PKI and (kept in memory) its private key."""

    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return pem_of(self.cert)


def pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """PEM (PKCS#8, unencrypted: the ssl module loads keys from files only), owner-only."""
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str, organisation: str = ORGANISATION) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _build(subject: x509.Name, public_key, issuer: Party | None, signer_key, *, ca: bool,
           days: float, not_before: dt.datetime | None = None,
           usage: x509.ExtendedKeyUsage | None = None,
           san: x509.SubjectAlternativeName | None = None) -> x509.Certificate:
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(usage, critical=False)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer_key, hashes.SHA256())


def _party(name: str, cn: str, issuer: Party | None, *, ca: bool, days: float = 30,
           usage: x509.ExtendedKeyUsage | None = None,
           san: x509.SubjectAlternativeName | None = None) -> Party:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = issuer.key if issuer else key
    return Party(name, _build(_name(cn), key.public_key(), issuer, signer, ca=ca, days=days,
                              usage=usage, san=san), key)


def certificate_hash_data(cert: x509.Certificate, issuer_public_key, algorithm: str
                          ) -> dict[str, str]:
    """CertificateHashDataType of the whitepaper: hashes of the issuer's DER name and of the
    issuer's public key bits (as OCSP's CertID), the serial number in hex."""
    h = HASH_ALGORITHMS[algorithm]
    der_key = issuer_public_key.public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    key_bits = _subject_public_key_bits(der_key)
    return {"hashAlgorithm": algorithm,
            "issuerNameHash": hashlib.new(h, cert.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": hashlib.new(h, key_bits).hexdigest(),
            "serialNumber": format(cert.serial_number, "x")}


def _subject_public_key_bits(spki_der: bytes) -> bytes:
    """The BIT STRING content of a SubjectPublicKeyInfo (without its unused-bits byte)."""
    def read_len(data: bytes, i: int) -> tuple[int, int]:
        first = data[i]
        if first < 0x80:
            return first, i + 1
        n = first & 0x7F
        return int.from_bytes(data[i + 1:i + 1 + n], "big"), i + 1 + n

    _, i = read_len(spki_der, 1)  # outer SEQUENCE
    alg_len, j = read_len(spki_der, i + 1)  # AlgorithmIdentifier SEQUENCE
    k = j + alg_len
    if spki_der[k] != 0x03:
        raise ValueError("SubjectPublicKeyInfo without a BIT STRING")
    bits_len, m = read_len(spki_der, k + 1)
    return spki_der[m + 1:m + bits_len]


def issuer_public_key(cert: x509.Certificate, candidates: list[x509.Certificate]):
    """The public key of the certificate in `candidates` whose subject issued `cert`; a
    self-signed certificate is its own issuer."""
    for c in candidates:
        if c.subject == cert.issuer:
            return c.public_key()
    return cert.public_key()


def public_key_bits(key) -> int:
    """Key size in bits of an RSA, DSA or EC public key."""
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    raise ValueError(f"unsupported key type {type(key).__name__}")


class BenchPki:
    """The run's PKI. `BenchPki.create(run_dir, csms_host)`; certificates as PEM text."""

    def __init__(self, parties: dict[str, Party], public_dir: Path, private_dir: Path) -> None:
        self.parties, self.public_dir, self.private_dir = parties, public_dir, private_dir

    @classmethod
    def create(cls, run_dir: Path, csms_hosts: str | list[str] = "127.0.0.1") -> BenchPki:
        """csms_hosts: the addresses (or names) the station reaches the CSMS at, all in the
        server certificate's subjectAltName; the first is its CN."""
        hosts = [csms_hosts] if isinstance(csms_hosts, str) else list(csms_hosts)
        cs_root = _party("central_system_root", "Bench Central System Root", None, ca=True)
        mf_root = _party("manufacturer_root", "Bench Manufacturer Root", None, ca=True)
        server = _party("csms_server", hosts[0], cs_root, ca=False, san=_san(hosts),
                        usage=x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]))
        station_ca = _party("station_ca", "Bench Charge Point Signing CA", cs_root, ca=True)
        fw = _party("firmware_signer", "Bench Firmware Signer", mf_root, ca=False,
                    usage=x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CODE_SIGNING]))
        parties = {p.name: p for p in (cs_root, mf_root, server, station_ca, fw)}
        pki = cls(parties, run_dir / "snapshots" / "pki", run_dir / PRIVATE_DIR / "pki")
        pki._write()
        return pki

    def _write(self) -> None:
        self.public_dir.mkdir(parents=True, exist_ok=True)
        self.private_dir.mkdir(parents=True, exist_ok=True)
        self.private_dir.chmod(0o700)
        for p in self.parties.values():
            (self.public_dir / f"{p.name}.pem").write_text(p.pem, "ascii")
            write_private_key(self.private_dir / f"{p.name}.key", p.key)

    def public_snapshot(self) -> dict[str, dict[str, str]]:
        """Every certificate of the PKI, public parts only (the record's snapshot)."""
        return {n: {"subject": p.cert.subject.rfc4514_string(),
                    "issuer": p.cert.issuer.rfc4514_string(),
                    "sha256": p.cert.fingerprint(hashes.SHA256()).hex(),
                    "not_after": p.cert.not_valid_after_utc.isoformat(), "pem": p.pem}
                for n, p in self.parties.items()}

    def pem(self, name: str) -> str:
        return self.parties[name].pem

    def cert(self, name: str) -> x509.Certificate:
        return self.parties[name].cert

    def chain_pem(self, leaf: x509.Certificate) -> str:
        """A station certificate with the signing CA behind it (CertificateSigned)."""
        return pem_of(leaf) + self.pem("station_ca")

    def sign_csr(self, csr: x509.CertificateSigningRequest, days: float = 30) -> x509.Certificate:
        """The station certificate for `csr`, signed by the station CA (subject kept)."""
        ca = self.parties["station_ca"]
        return _build(csr.subject, csr.public_key(), ca, ca.key, ca=False, days=days,
                      usage=x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]))

    def foreign_certificate(self, cn: str, *, ca: bool = False, expired: bool = False
                            ) -> x509.Certificate:
        """A certificate no root of the bench vouches for (self-signed), or an expired one
        under the Central System root: what a station must refuse."""
        key = ec.generate_private_key(ec.SECP256R1())
        if expired:
            root = self.parties["central_system_root"]
            start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
            return _build(_name(cn), key.public_key(), root, root.key, ca=ca, days=1,
                          not_before=start)
        return _build(_name(cn, "Not The Bench"), key.public_key(), None, key, ca=ca, days=30)

    def extra_root(self, cn: str) -> x509.Certificate:
        """A further self-signed root (to install, list and delete): a station can compute
        its hash data alone, its issuer being itself."""
        key = ec.generate_private_key(ec.SECP256R1())
        return _build(_name(cn), key.public_key(), None, key, ca=True, days=30)

    def untrusted_server_files(self) -> tuple[Path, Path]:
        """A CSMS server certificate for the same addresses that no root of the bench vouches
        for (self-signed, organisation "Not The Bench"): what a station must refuse (TC_086).
        Its certificate in the public folder, its key in the private one; made once."""
        cert_path = self.public_dir / "untrusted_server.pem"
        key_path = self.private_dir / "untrusted_server.key"
        if not cert_path.is_file():
            server = self.parties["csms_server"].cert
            san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            key = ec.generate_private_key(ec.SECP256R1())
            cn = server.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            cert = _build(_name(str(cn), "Not The Bench"), key.public_key(), None, key, ca=False,
                          days=30, san=san, usage=x509.ExtendedKeyUsage(
                              [x509.ExtendedKeyUsageOID.SERVER_AUTH]))
            write_private_key(key_path, key)
            cert_path.write_text(pem_of(cert), "ascii")
        return cert_path, key_path

    def sign_firmware(self, image: bytes) -> str:
        """Base64 ECDSA-SHA256 signature of `image` by the firmware signing certificate."""
        key = self.parties["firmware_signer"].key
        return base64.b64encode(key.sign(image, ec.ECDSA(hashes.SHA256()))).decode("ascii")

    def hash_data(self, cert: x509.Certificate, algorithm: str) -> dict[str, str]:
        issuers = [p.cert for p in self.parties.values()]
        return certificate_hash_data(cert, issuer_public_key(cert, issuers), algorithm)


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    import ipaddress

    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def verify_signature(public_key, signature: bytes, data: bytes) -> bool:
    """True when `signature` over `data` (SHA-256) verifies with `public_key` (EC or RSA)."""
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


# -- a throw-away TLS PKI for the simulated rig ------------------------------------------------
# `[simulator] tls_pki = "FOLDER"` (docs/security.md): the loader makes it before it reads the
# rig's TLS files, so a shipped rig at security profile 2 or 3 runs with no certificate in the
# repository. One CA signs the CSMS server certificate and the station's client certificate.

SIM_TLS_FILES = ("ca.pem", "csms.pem", "csms.key", "station.pem", "station.key")
SIM_TLS_DAYS = 365


def ensure_sim_tls_pki(folder: Path, station_id: str, csms_hosts: list[str]) -> Path:
    """`folder` holding ca.pem, csms.pem/.key (subjectAltName `csms_hosts`) and station.pem/.key
    (CN `station_id`); kept while it matches and stays valid for another day, else made anew.
    Made in a sibling folder and renamed into place, so concurrent runs never see half of one."""
    if _sim_pki_usable(folder, station_id, csms_hosts):
        return folder
    import contextlib
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    ca = _party("ca", "Bench Simulated Rig CA", None, ca=True, days=SIM_TLS_DAYS)
    csms = _party("csms", csms_hosts[0], ca, ca=False, days=SIM_TLS_DAYS, san=_san(csms_hosts),
                  usage=x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]))
    station = _party("station", station_id, ca, ca=False, days=SIM_TLS_DAYS,
                     usage=x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]))
    (staging / "ca.pem").write_text(ca.pem, "ascii")
    for p in (csms, station):
        (staging / f"{p.name}.pem").write_text(p.pem, "ascii")
        write_private_key(staging / f"{p.name}.key", p.key)
    old = folder.with_name(f".{folder.name}-old-{staging.name[-8:]}")
    with contextlib.suppress(FileNotFoundError):  # absent, or another run moved it first
        folder.rename(old)
    try:
        staging.rename(folder)
    except OSError:  # another run put its own in place meanwhile: use that one
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _sim_pki_usable(folder: Path, station_id: str, csms_hosts: list[str]) -> bool:
    if not all((folder / name).is_file() for name in SIM_TLS_FILES):
        return False
    try:
        certs = {n: x509.load_pem_x509_certificate((folder / f"{n}.pem").read_bytes())
                 for n in ("ca", "csms", "station")}
    except ValueError:
        return False
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    if any(c.not_valid_after_utc < soon for c in certs.values()):
        return False
    cn = certs["station"].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    san = certs["csms"].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return bool(cn) and cn[0].value == station_id and san == _san(csms_hosts)

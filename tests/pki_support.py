"""A throw-away PKI for the TLS tests: one CA signing server and client certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _cert(cn: str, key, issuer=None, issuer_key=None, *, ca: bool = False, ip: str | None = None,
          expired: bool = False):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    end = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(min(now, end) - dt.timedelta(minutes=5))
               .not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _save(folder: Path, name: str, cert, key=None) -> Path:
    path = folder / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (folder / f"{name}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return path


def make_pki(folder: Path, leaves: dict[str, tuple[str, str | None]],
             ca_name: str = "bench test CA", expired: tuple[str, ...] = ()) -> dict[str, Path]:
    """`leaves`: name -> (CN, IP for the server SAN or None). Returns "ca", each name's PEM and
    "<name>_key" (the key also sits beside the PEM as <name>.key). Leaves named in `expired`
    ended yesterday."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_name, ca_key, ca=True)
    out = {"ca": _save(folder, "ca", ca)}
    for name, (cn, ip) in leaves.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, key, ca, ca_key, ip=ip, expired=name in expired)
        out[name] = _save(folder, name, cert, key)
        out[f"{name}_key"] = folder / f"{name}.key"
    return out


def make_self_signed(folder: Path, name: str, cn: str) -> Path:
    """A leaf certificate signed by its own key (no CA vouches for it); key beside it."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _save(folder, name, _cert(cn, key), key)

"""Who may connect: subprotocol, path, identity and security profiles 0-3 on a real server."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_csms_support import boot, events, running_csms, station_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

KEY = bytes.fromhex("00112233445566778899aabbccddeeff01020304")  # 20 bytes


def basic(user: str, password: bytes) -> dict[str, str]:
    token = base64.b64encode(user.encode() + b":" + password).decode()
    return {"Authorization": f"Basic {token}"}


async def refused_status(csms, station_id="CP1", **kw) -> int:
    with pytest.raises(InvalidStatus) as e:
        async with station_connect(csms, station_id, **kw):
            pass
    return e.value.response.status_code


async def test_subprotocol_required_and_refusal_recorded(tmp_path):
    async with running_csms(tmp_path) as csms:
        assert await refused_status(csms, subprotocols=None) == 400
        assert await refused_status(csms, subprotocols=["ocpp2.0.1"]) == 400
        async with station_connect(csms, subprotocols=["ocpp2.0.1", "ocpp1.6"]) as ws:
            assert ws.subprotocol == "ocpp1.6"
            assert (await boot(ws))[2]["status"] == "Accepted"
        refusals = [e for e in events(csms, "handshake") if e["name"] == "refused"]
        assert [r["detail"]["status"] for r in refusals] == [400, 400]
        assert refusals[1]["detail"]["subprotocols"] == ["ocpp2.0.1"]


async def test_path_prefix_and_unknown_identity(tmp_path):
    async with running_csms(tmp_path, any_station=False, stations={"CP1": None}) as csms:
        assert await refused_status(csms, "CP2") == 404
        async with station_connect(csms, "CP1") as ws:
            await boot(ws)
        # a wrong prefix is not found either
        from websockets.asyncio.client import connect
        with pytest.raises(InvalidStatus) as e:
            async with connect(f"ws://127.0.0.1:{csms.port}/other/CP1", subprotocols=["ocpp1.6"],
                               proxy=None):
                pass
        assert e.value.response.status_code == 404


async def test_empty_prefix(tmp_path):
    async with running_csms(tmp_path, path_prefix="") as csms:
        assert csms.url == f"ws://127.0.0.1:{csms.port}"
        async with station_connect(csms, "CP9") as ws:
            await boot(ws)
        st = await csms.wait_for_station("CP9", timeout=2, boot=False)
        assert st.last_boot is not None


async def test_profile0_ignores_an_authorization_header(tmp_path):
    async with running_csms(tmp_path) as csms:
        async with station_connect(csms, additional_headers=basic("CP1", b"whatever")) as ws:
            await boot(ws)
        accepted = [e for e in events(csms, "handshake") if e["name"] == "accepted"]
        assert accepted[0]["detail"]["authorization_header_ignored"] is True


async def test_profile1_basic_auth(tmp_path):
    async with running_csms(tmp_path, security_profile=1, stations={"CP1": KEY},
                            any_station=False) as csms:
        async with station_connect(csms, additional_headers=basic("CP1", KEY)) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"
        # the key as hex text is taken too (common in the field), and noted
        async with station_connect(csms, additional_headers=basic("CP1", KEY.hex().encode())):
            pass
        assert await refused_status(csms) == 401  # no credentials
        assert await refused_status(csms, additional_headers=basic("CP1", b"x" * 20)) == 401
        assert await refused_status(csms, additional_headers=basic("CP2", KEY)) == 403
        assert await refused_status(csms, "CP2", additional_headers=basic("CP2", KEY)) == 404
        # still serving after the refusals
        async with station_connect(csms, additional_headers=basic("CP1", KEY)) as ws:
            await boot(ws)
        hs = events(csms, "handshake")
        assert [e["detail"]["status"] for e in hs] == [101, 101, 401, 401, 403, 404, 101]
        assert hs[1]["detail"]["password_form"] == "hex-text"
        text = (csms.record.path / "events.jsonl").read_text()
        assert KEY.hex() not in text and base64.b64encode(b"CP1:" + KEY).decode() not in text


# -- TLS: a CA, a server certificate for 127.0.0.1 and client certificates, made here ----------

def _cert(subject_cn, issuer_cert, issuer_key, key, *, ca=False, server=False):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5))
         .not_valid_after(now + dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert, key=None) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("bench test CA", None, ca_key, ca_key, ca=True)
    out = {"ca": _write(d / "ca.pem", ca)}
    for name, cn, server in (("server", "127.0.0.1", True), ("cp1", "CP1", False),
                             ("cp2", "CP2", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        out[name] = _write(d / f"{name}.pem", _cert(cn, ca, ca_key, key, server=server), key)
    return out


def client_tls(pki, client: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if client:
        ctx.load_cert_chain(str(pki[client]), str(pki[client].with_suffix(".key")))
    return ctx


def tls_settings(pki, profile):
    return {"security_profile": profile, "tls_cert": pki["server"],
            "tls_key": pki["server"].with_suffix(".key"), "tls_ca": pki["ca"]}


async def test_profile2_basic_over_tls(tmp_path, pki):
    async with running_csms(tmp_path, stations={"CP1": KEY}, any_station=False,
                            **tls_settings(pki, 2)) as csms:
        assert csms.url.startswith("wss://")
        async with station_connect(csms, ssl=client_tls(pki),
                                   additional_headers=basic("CP1", KEY)) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"
        assert await refused_status(csms, ssl=client_tls(pki),
                                    additional_headers=basic("CP1", bytes(20))) == 401


async def test_profile3_client_certificate(tmp_path, pki):
    async with running_csms(tmp_path, stations={"CP1": None, "CP2": None}, any_station=False,
                            **tls_settings(pki, 3)) as csms:
        async with station_connect(csms, ssl=client_tls(pki, "cp1")) as ws:
            assert (await boot(ws))[2]["status"] == "Accepted"
        # a valid certificate of another identity
        assert await refused_status(csms, "CP1", ssl=client_tls(pki, "cp2")) == 403
        # no client certificate at all: the TLS handshake itself fails
        with pytest.raises((OSError, InvalidHandshake)):
            async with station_connect(csms, ssl=client_tls(pki)) as ws:
                await boot(ws)
        async with station_connect(csms, "CP2", ssl=client_tls(pki, "cp2")) as ws:
            await boot(ws)
        hs = events(csms, "handshake")
        assert [e["detail"]["status"] for e in hs] == [101, 403, 101]
        assert hs[1]["detail"]["client_cert_cn"] == "CP2"

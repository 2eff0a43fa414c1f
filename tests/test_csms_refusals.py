"""The endpoint under attack at security profiles 1, 2 and 3: nobody gets in without the right
credentials, every refusal (HTTP or TLS) is recorded with the peer, the reason and the status
actually sent, and no spelling of the key reaches the run directory or a response body.

Raw clients (bench/csms/rawws.py, plain sockets) send what a library would not; the PKI is
made here: a CA, its server and station certificates, an expired one, one from another CA and
a self-signed one.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re
import ssl
from pathlib import Path

import pytest
from pki_support import make_pki, make_self_signed
from test_csms_support import events, eventually, running_csms

from bench.config.rig import load_rig
from bench.csms import CsmsSettings, server, settings_from_rig
from bench.csms.fuzz import Mutator, run_stream
from bench.csms.rawws import HandshakeRefused, RawWs, http_exchange, upgrade_request

KEY = bytes.fromhex("00112233445566778899aabbccddeeff01020304")  # not UTF-8 text
ASCII_KEY = b"correct-horse-42!"  # 17 bytes that read as text: a swap would show it
PEER = re.compile(r"^127\.0\.0\.1:\d+$")


def basic(user: bytes | str, password: bytes | str) -> dict[str, str]:
    user = user.encode() if isinstance(user, str) else user
    password = password.encode() if isinstance(password, str) else password
    return {"Authorization": "Basic " + base64.b64encode(user + b":" + password).decode()}


def key_spellings(key: bytes, ids: tuple[str, ...]) -> list[bytes]:
    """The key as a station or a careless log could spell it (written out here, not taken
    from the bench's own scrubber, so the test can catch a spelling the scrubber misses)."""
    text = key.decode("latin-1")
    forms = [key, key.hex().encode(), key.hex().upper().encode(),
             base64.b64encode(key), base64.b64encode(key).rstrip(b"="),
             base64.urlsafe_b64encode(key), "".join(f"%{b:02X}" for b in key).encode(),
             text.encode("utf-8"), json.dumps(text).encode()[1:-1]]
    for sid in ids:
        for token in (sid.encode() + b":" + key, key + b":" + sid.encode(),
                      sid.encode() + b":" + key.hex().encode(), key.hex().encode() + b":"
                      + sid.encode()):
            forms.append(base64.b64encode(token))
    return forms


def assert_key_absent(run_dir: Path, key: bytes, bodies: list[bytes],
                      ids: tuple[str, ...] = ("CP1",)) -> None:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files
    for form in key_spellings(key, ids):
        for p in files:
            assert form not in p.read_bytes(), f"{form!r} in {p.name}"
        for body in bodies:
            assert form not in body, f"{form!r} in a response body"


async def status_of(port: int, path: str, headers: dict[str, str] | None = None,
                    ssl_context: ssl.SSLContext | None = None) -> tuple[int | None, bytes]:
    """(HTTP status, body) of an upgrade request; 101 connections are closed at once."""
    try:
        ws = await RawWs.open("127.0.0.1", port, path, headers, ssl_context)
    except HandshakeRefused as e:
        return e.status, e.body
    await ws.close()
    return 101, b""


def handshakes(csms) -> list[dict]:
    return [e["detail"] | {"name": e["name"]} for e in events(csms, "handshake")]


# -- profile 1: HTTP Basic on plain websockets --------------------------------------------------

async def test_profile1_any_station_needs_the_key_and_never_echoes_it(tmp_path):
    """`bench serve --any-station` on a rig at profile 1: the rig's key applies to every id."""
    attempts = [  # (path id, headers, status the station must get)
        ("INTRUDER-1", None, 401),                                  # no credentials
        ("INTRUDER-1", basic("INTRUDER-1", "whatever-password"), 401),
        ("INTRUDER-1", basic("CP1", ASCII_KEY), 403),              # someone else's user name
        ("INTRUDER-1", basic(ASCII_KEY, "INTRUDER-1"), 403),       # user and password swapped
        ("INTRUDER-1", basic(ASCII_KEY.hex(), "INTRUDER-1"), 403),  # swapped, key as hex
        ("INTRUDER-1", {"Authorization": f"Bearer {ASCII_KEY.decode()}"}, 401),
        ("INTRUDER-1", {"Authorization": ASCII_KEY.decode()}, 401),  # the key, no scheme
        ("INTRUDER-1", {"Authorization": "Basic %%%notbase64"}, 401),
        ("correct-horse-42!", basic("correct-horse-42!", ASCII_KEY), 403),  # key as identity
        ("INTRUDER-1", basic("INTRUDER-1", ASCII_KEY), 101),       # the key opens any id
        ("CP1", basic("CP1", ASCII_KEY.hex()), 101),               # key as hex text
    ]
    bodies = []
    async with running_csms(tmp_path, security_profile=1, stations={"CP1": ASCII_KEY},
                            any_station=True) as csms:
        got = []
        for sid, headers, _ in attempts:
            status, body = await status_of(csms.port, f"/ocpp/{sid}", headers)
            got.append(status)
            bodies.append(body)
        assert got == [want for *_, want in attempts]
        await eventually(lambda: len(handshakes(csms)) == len(attempts), what="handshakes")
        hs = handshakes(csms)
        assert [h["status"] for h in hs] == got  # the status actually sent, each time
        assert all(PEER.match(h["peer"]) and h["reason"] for h in hs)
        assert "user name and password swapped" in hs[3]["reason"]
        assert hs[3]["username"] == hs[4]["username"] == "«holds the AuthorizationKey»"
        assert hs[8]["reason"] == "the charge point identity holds the AuthorizationKey"
        assert hs[9]["password_checked"] and hs[9]["password_form"] == "raw"
        run_dir = csms.record.path
    assert_key_absent(run_dir, ASCII_KEY, bodies, ids=("CP1", "INTRUDER-1"))


def test_profile1_and_2_without_a_key_is_a_configuration_error():
    with pytest.raises(ValueError, match="station 'CP1' has no AuthorizationKey"):
        CsmsSettings(security_profile=1, stations={"CP1": None})
    with pytest.raises(ValueError, match="any_station_key"):
        CsmsSettings(security_profile=1, any_station=True)
    with pytest.raises(ValueError, match="2 station keys"):
        CsmsSettings(security_profile=1, any_station=True,
                     stations={"CP1": KEY, "CP2": ASCII_KEY[:16]})
    s = CsmsSettings(security_profile=1, any_station=True, stations={"CP1": KEY})
    assert s.key_for("ANYONE") == KEY and s.key_for("CP1") == KEY
    assert CsmsSettings(security_profile=0, any_station=True).key_for("X") is None
    # `bench serve --rig R --any-station`: the rig's key for every identity
    rig = load_rig(Path(__file__).resolve().parents[1] / "rigs" / "sim.toml")
    rig = dataclasses.replace(rig, station=dataclasses.replace(
        rig.station, security_profile=1, authorization_key=KEY))
    assert settings_from_rig(rig, any_station=True).key_for("INTRUDER-1") == KEY


# -- TLS: profiles 2 and 3 ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pki")
    out = make_pki(root / "ours", {"server": ("127.0.0.1", "127.0.0.1"), "cp1": ("CP1", None),
                                   "cp2": ("CP2", None), "expired": ("CP1", None)},
                   expired=("expired",))
    other = make_pki(root / "other", {"cp1": ("CP1", None)}, ca_name="someone else's CA")
    out["other_ca_cp1"] = other["cp1"]
    out["self_signed"] = make_self_signed(root, "self_signed", "CP1")
    return out


def tls_settings(pki, profile: int) -> dict:
    return {"security_profile": profile, "tls_cert": pki["server"],
            "tls_key": pki["server"].with_suffix(".key"), "tls_ca": pki["ca"]}


def client_tls(pki, cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert:
        ctx.load_cert_chain(str(pki[cert]), str(pki[cert].with_suffix(".key")))
    return ctx


def tls10_client_hello() -> bytes:
    """A ClientHello that offers TLS 1.0 only (no supported_versions extension)."""
    body = (b"\x03\x01" + os.urandom(32) + b"\x00" + b"\x00\x04\x00\x2f\x00\x35"
            + b"\x01\x00")
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


async def raw_bytes_then_close(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            return await reader.read(4096)
    finally:
        writer.close()


def tls_refusals(csms) -> list[dict]:
    return [h for h in handshakes(csms) if h["name"] == "tls-refused"]


async def test_profile2_basic_over_tls_and_its_refusals(tmp_path, pki, monkeypatch):
    monkeypatch.setattr(server, "OPEN_TIMEOUT_S", 0.5)  # the silent TCP client below
    async with running_csms(tmp_path, stations={"CP1": KEY}, any_station=True,
                            max_frame_bytes=4096, **tls_settings(pki, 2)) as csms:
        port = csms.port
        ok = await RawWs.open("127.0.0.1", port, "/ocpp/CP1", basic("CP1", KEY), client_tls(pki))
        mutator = Mutator(2, "T", max_frame_bytes=4096)
        result = await run_stream(ok, mutator.every_class() + [mutator.frame() for _ in range(200)])
        await ok.close()
        assert result.mismatches == []
        bodies = []
        for sid, headers in (("CP1", basic("CP1", bytes(20))), ("INTRUDER-2", None),
                             ("INTRUDER-2", basic("INTRUDER-2", KEY.hex()[:-2]))):
            status, body = await status_of(port, f"/ocpp/{sid}", headers, client_tls(pki))
            assert status == 401
            bodies.append(body)
        # plain ws:// on the TLS port, a TLS 1.0 ClientHello, a TCP client that says nothing
        status, _, body = await http_exchange("127.0.0.1", port, upgrade_request(
            "127.0.0.1", port, "/ocpp/CP1", basic("CP1", KEY)))
        assert status is None
        bodies.append(body)
        assert not (await raw_bytes_then_close(port, tls10_client_hello())).startswith(b"\x16")
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await eventually(lambda: len(tls_refusals(csms)) == 3, timeout=5, what="3 TLS refusals")
        writer.close()
        refusals = tls_refusals(csms)
        assert [r["reason"] for r in refusals] == [
            "plain HTTP on the TLS port (ws:// instead of wss://)",
            "TLS version below 1.2 offered (TLS 1.2 or later required)",
            refusals[2]["reason"]]
        assert refusals[2]["reason"].startswith("no TLS handshake in time")
        assert all(PEER.match(r["peer"]) for r in refusals)
        run_dir = csms.record.path
    assert_key_absent(run_dir, KEY, bodies)


async def test_profile3_client_certificates(tmp_path, pki):
    async with running_csms(tmp_path, stations={"CP1": None}, any_station=True,
                            **tls_settings(pki, 3)) as csms:
        port = csms.port
        assert (await status_of(port, "/ocpp/CP1", ssl_context=client_tls(pki, "cp1")))[0] == 101
        # valid certificates of another identity: refused in HTTP, CN named
        assert (await status_of(port, "/ocpp/CP1", ssl_context=client_tls(pki, "cp2")))[0] == 403
        assert (await status_of(port, "/ocpp/INTRUDER-3",
                                ssl_context=client_tls(pki, "cp1")))[0] == 403
        # certificates the TLS handshake refuses, and none at all
        tls_cases = [("expired", "client certificate refused: certificate has expired"),
                     ("other_ca_cp1",
                      "client certificate refused: unable to get local issuer certificate"),
                     ("self_signed", "client certificate refused: self-signed certificate"),
                     (None, "no client certificate (profile 3 requires one)")]
        for cert, _ in tls_cases:
            with pytest.raises((OSError, HandshakeRefused, asyncio.IncompleteReadError)):
                ws = await RawWs.open("127.0.0.1", port, "/ocpp/CP1",
                                      ssl_context=client_tls(pki, cert))
                await ws.recv(2)  # TLS 1.3: the client learns of the refusal on its first read
        await eventually(lambda: len(tls_refusals(csms)) == len(tls_cases), timeout=5,
                         what="TLS refusals")
        hs = handshakes(csms)
    http = [h for h in hs if h["name"] != "tls-refused"]
    assert [h["status"] for h in http] == [101, 403, 403]
    assert http[1]["client_cert_cn"] == "CP2" and "CP2" in http[1]["reason"]
    assert http[2]["client_cert_cn"] == "CP1" and "INTRUDER-3" in http[2]["reason"]
    refusals = [h for h in hs if h["name"] == "tls-refused"]
    assert [r["reason"] for r in refusals] == [want for _, want in tls_cases]
    assert all(PEER.match(r["peer"]) and r["security_profile"] == 3 for r in refusals)


# -- requests the websocket library refuses itself ---------------------------------------------

async def test_library_refusals_are_recorded_with_the_status_sent(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "OPEN_TIMEOUT_S", 0.5)
    async with running_csms(tmp_path) as csms:
        port = csms.port
        good = upgrade_request("127.0.0.1", port, "/ocpp/CP1").decode("latin-1")
        requests = [
            # a plain GET (with the subprotocol, so the bench's own check lets it through): 426
            b"GET /ocpp/CP1 HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
            re.sub(r"Sec-WebSocket-Key: .*\r\n", "", good).encode(),  # no key: 400
            good.replace("Version: 13", "Version: 8").encode(),
            good.replace("GET ", "POST ", 1).encode(),
            f"GET /ocpp/{'x' * 9000} HTTP/1.1\r\n\r\n".encode(),  # 414
            good.replace("\r\n\r\n", f"\r\nX-Big: {'y' * 9000}\r\n\r\n").encode(),  # 431
            good.replace("\r\n\r\n", "".join(f"\r\nX-{i}: v" for i in range(130))
                         + "\r\n\r\n").encode(),  # 431
            b"\x16\x03\x01\x00\x05hello\r\n\r\n",  # not HTTP at all
            good.encode()[:40],  # half a request, then silence (slowloris)
        ]
        got = [(await http_exchange("127.0.0.1", port, r, timeout=5))[0] for r in requests]
        assert got[:7] == [426, 400, got[2], 405, 414, 431, 431] and got[2] in (400, 426)
        assert got[7:] == [None, None]
        await eventually(lambda: len(handshakes(csms)) == len(requests), what="handshakes")
        hs = handshakes(csms)
    assert [h["status"] for h in hs] == got  # never "accepted, 101"
    assert [h["name"] for h in hs] == ["refused"] * 7 + ["failed", "failed"]
    assert all(h.get("refused_by") == "websockets" for h in hs[:4])
    assert "open timeout" in hs[8]["reason"] and all(PEER.match(h["peer"]) for h in hs)

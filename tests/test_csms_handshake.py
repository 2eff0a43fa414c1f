"""Who may connect: subprotocol, path, identity and security profiles 0-3 on a real server."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
from pki_support import make_pki
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
            st = await csms.wait_for_station("CP9", timeout=2)
        assert st.session.last_boot is not None


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

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"), {
        "server": ("127.0.0.1", "127.0.0.1"), "cp1": ("CP1", None), "cp2": ("CP2", None)})


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
        assert [e["name"] for e in hs] == ["accepted", "refused", "tls-refused", "accepted"]
        assert [e["detail"].get("status") for e in hs] == [101, 403, None, 101]
        assert hs[1]["detail"]["client_cert_cn"] == "CP2"
        assert hs[2]["detail"]["reason"] == "no client certificate (profile 3 requires one)"


async def test_handshakes_keep_what_each_attempt_offered(tmp_path):
    """What the transport cases judge (TC_085, TC_088): the subprotocols offered and selected
    and the Basic header's shape, kept whatever the decision and holding no password."""
    async with running_csms(tmp_path, security_profile=1, stations={"CP1": KEY},
                            any_station=False) as csms:
        # refused for the subprotocol first: the user name and password length still kept
        assert await refused_status(csms, subprotocols=None,
                                    additional_headers=basic("SERIAL-1", KEY)) == 400
        assert await refused_status(csms, additional_headers=basic(KEY.hex(), KEY)) == 403
        async with station_connect(csms, subprotocols=["ocpp2.0.1", "ocpp1.6"],
                                   additional_headers=basic("CP1", KEY.hex().encode())):
            pass
        first, swapped, ok = list(csms.stations["CP1"].handshakes)
        assert (first.offered, first.selected, first.status) == ((), None, 400)
        assert first.basic is not None and first.basic.user == "SERIAL-1"
        assert (first.basic.user_is_identity, first.basic.password_bytes) == (False, 20)
        assert not first.basic.password_hex
        assert swapped.basic.user == ""  # it held the key: never shown
        assert ok.offered == ("ocpp2.0.1", "ocpp1.6") and ok.selected == "ocpp1.6"
        assert ok.basic.user_is_identity and ok.basic.password_hex
        assert ok.basic.password_bytes == 40 and ok.client_cn is None

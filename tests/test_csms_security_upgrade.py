"""The endpoint's side of the Security whitepaper, over real websockets on loopback: a
password replaced at run time (the new key taken, the old refused, neither recorded), a
ChangeConfiguration carrying a key recorded redacted, and a station raised to profile 2
served over TLS beside plain connections on the same port."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path

import pytest
from test_csms_support import exchange, running_csms, station_connect
from websockets.exceptions import InvalidStatus

from bench.csms.secrets import key_spellings
from bench.pki import BenchPki

OLD, NEW = b"old-key-0123456789", b"new-key-9876543210"


def basic(identity: str, key: bytes) -> dict[str, str]:
    token = base64.b64encode(identity.encode() + b":" + key).decode()
    return {"Authorization": f"Basic {token}"}


def record_text(csms) -> str:
    return "".join(p.read_text("latin-1") for p in csms.record.path.glob("*.jsonl"))


async def test_replaced_key_is_taken_and_the_old_refused(tmp_path: Path) -> None:
    async with running_csms(tmp_path, security_profile=1, stations={"CP1": OLD},
                            any_station=False) as csms:
        async with station_connect(csms, additional_headers=basic("CP1", OLD)) as ws:
            station = csms.station("CP1")
            await station.wait_connected(5)
            station.use_authorization_key(NEW)
            await ws.close()
        with pytest.raises(InvalidStatus) as refused:
            async with station_connect(csms, additional_headers=basic("CP1", OLD)):
                pass
        assert refused.value.response.status_code == 401
        async with station_connect(csms, additional_headers=basic("CP1", NEW)) as ws:
            assert ws.subprotocol == "ocpp1.6"
        seen = [(h.status, h.tls) for h in csms.station("CP1").handshakes]
        assert seen == [(101, False), (401, False), (101, False)]
    text = record_text(csms)
    assert not [s for k in (OLD, NEW) for s in key_spellings(k) if s in text]


async def test_a_key_sent_in_change_configuration_is_recorded_redacted(tmp_path: Path) -> None:
    async with running_csms(tmp_path) as csms, station_connect(csms) as ws:
        station = csms.station("CP1")
        await station.wait_connected(5)
        import asyncio

        call = asyncio.create_task(station.call("ChangeConfiguration", {
            "key": "AuthorizationKey", "value": NEW.hex()}))
        frame = json.loads(await ws.recv())
        assert frame[3]["value"] == NEW.hex()  # the station gets the key itself
        await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
        assert (await call).get("status") == "Accepted"
    lines = [json.loads(x) for x in (csms.record.path / "frames.jsonl").read_text().splitlines()]
    out = next(x for x in lines if x["action"] == "ChangeConfiguration")
    assert "redacted" in out["raw"] and NEW.hex() not in out["raw"]
    assert out["note"] == "value redacted: a credential"
    assert NEW.hex() not in record_text(csms)


async def test_tls_and_plain_on_one_port(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect

    pki = BenchPki.create(tmp_path / "run", "127.0.0.1")
    async with running_csms(tmp_path, security_profile=1, stations={"CP1": OLD, "CP2": OLD},
                            any_station=False) as csms:
        csms.serve_tls_too(pki.public_dir / "csms_server.pem",
                           pki.private_dir / "csms_server.key")
        csms.station("CP1").raise_security_profile(2)
        tls = ssl.create_default_context(cadata=pki.pem("central_system_root"))
        wss = csms.url.replace("ws://", "wss://")
        with pytest.raises(InvalidStatus) as refused:
            async with station_connect(csms, "CP1", additional_headers=basic("CP1", OLD)):
                pass
        assert refused.value.response.status_code == 403
        assert b"needs TLS" in refused.value.response.body
        async with connect(f"{wss}/CP1", subprotocols=["ocpp1.6"], ssl=tls, proxy=None,
                           additional_headers=basic("CP1", OLD), open_timeout=5) as ws:
            assert (await exchange(ws, [2, "h", "Heartbeat", {}]))[0] == 3
        async with station_connect(csms, "CP2", additional_headers=basic("CP2", OLD)) as ws:
            assert (await exchange(ws, [2, "h", "Heartbeat", {}]))[0] == 3  # still plain
        assert [(h.status, h.tls) for h in csms.station("CP1").handshakes] == [
            (403, False), (101, True)]

"""The nft-drop network driver on loopback: real nftables, the bench's CSMS and the station
simulator in-process. The filter's station address is 127.0.0.1 and it matches only the
CSMS's ephemeral port, so every other loopback connection (the instruments') passes.

Also the csms-side driver's offline-detection figure and the rig-file keys of nft-drop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import require_real_part
from test_station_support import STATION_ID, station_rig, wait_until

from bench.config.rig import RigError, load_rig
from bench.lock import rig_resources
from bench.netcut import NFT_DROP, CsmsSideNetwork, NftDropNetwork
from bench.safestate import bring_to_safe_state
from bench.verbs import Bench, Placed
from instruments.errors import InstrumentError
from instruments.nftables import NftDropFilter, drop_ruleset
from instruments.roles import ROLES

# tables of this test process only: a bench run on the same host keeps its own
TABLE = f"bench_netcut_test{os.getpid()}"
BYSTANDER = f"bench_bystander{os.getpid()}"


@pytest.fixture
def nft() -> str:
    path = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
    require_real_part("nftables", path is not None and os.geteuid() == 0,
                      "apt-get install nftables, and run as root (CAP_NET_ADMIN)")
    assert path
    yield path
    for table in (TABLE, BYSTANDER):
        subprocess.run([path, "delete", "table", "inet", table], capture_output=True,
                       check=False)


def nft_run(binary: str, script: str) -> None:
    subprocess.run([binary, "-f", "-"], input=script, text=True, check=True,
                   capture_output=True)


def table_exists(binary: str, table: str) -> bool:
    return subprocess.run([binary, "list", "table", "inet", table], capture_output=True,
                          check=False).returncode == 0


async def connects(port: int, within: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), within)
    except TimeoutError:
        return False
    writer.close()
    return True


def record_events(rig) -> list[dict]:
    path = rig.csms.record.path / "events.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def nft_network(rig, detection_timeout_s: float) -> NftDropNetwork:
    packet_filter = NftDropFilter("network", "127.0.0.1", table=TABLE)
    return NftDropNetwork("network", packet_filter, rig.csms, STATION_ID, rig.csms.port,
                          detection_timeout_s)


async def test_filter_drops_only_the_station_link_and_leaves_no_table(nft: str) -> None:
    async def serve(reader, writer) -> None:
        writer.close()

    csms_side = await asyncio.start_server(serve, "127.0.0.1", 0)
    instrument = await asyncio.start_server(serve, "127.0.0.1", 0)
    csms_port = csms_side.sockets[0].getsockname()[1]
    instrument_port = instrument.sockets[0].getsockname()[1]
    # a table of someone else, and one of ours left by a run that died mid-cut
    nft_run(nft, f"table inet {BYSTANDER} {{\n chain c {{\n  tcp dport 1 accept\n }}\n}}\n")
    nft_run(nft, drop_ruleset(TABLE, "127.0.0.1", csms_port))
    assert not await connects(csms_port, 0.5)  # the stale table still cuts
    try:
        looker = NftDropFilter("network", "127.0.0.1", table=TABLE)
        ident = await looker.activate(readonly=True)  # bench check: reports, changes nothing
        assert ident.details["stale_table_present"] is True
        await looker.deactivate()
        assert table_exists(nft, TABLE)

        packet_filter = NftDropFilter("network", "127.0.0.1", table=TABLE)
        ident = await packet_filter.activate()
        assert ident.details["stale_table_removed"] is True
        assert ident.identity.startswith("nftables v")
        assert not table_exists(nft, TABLE) and await connects(csms_port, 2)

        await packet_filter.drop(csms_port)
        state = await packet_filter.state()
        assert (state.dropping, state.drop_rules, state.syn_packets) == (True, 2, 0)
        assert await connects(instrument_port, 2)  # the instruments' traffic passes
        assert not await connects(csms_port, 1.5)  # the station's: no answer, no refusal
        assert await packet_filter.syn_packets() >= 1

        net = NftDropNetwork("network", packet_filter, None, STATION_ID, csms_port)
        bench = SimpleNamespace(placed=[Placed("network", NFT_DROP, ROLES["network"], None, net)],
                                record=None)
        report = await bring_to_safe_state(bench)
        assert [(s.step, s.ok) for s in report.steps] == [("network.restored", True)]
        assert report.steps[0].readback["dropping"] is False
        assert not table_exists(nft, TABLE) and await connects(csms_port, 2)

        await packet_filter.drop(csms_port)
        await packet_filter.deactivate()  # the run ends: the table goes with it
        assert not table_exists(nft, TABLE)
        assert table_exists(nft, BYSTANDER)  # never touched
    finally:
        csms_side.close()
        instrument.close()


@pytest.mark.parametrize(("address", "interface", "match"), [
    ("192.168.10.50", None, "ip saddr 192.168.10.50 tcp dport 9000"),
    ("fd00::50", "eth1", 'iifname "eth1" ip6 saddr fd00::50 tcp dport 9000'),
])
def test_ruleset_is_accepted_by_nft(nft: str, address: str, interface: str | None,
                                    match: str) -> None:
    script = drop_ruleset(TABLE, address, 9000, interface)
    assert match in script
    check = subprocess.run([nft, "-c", "-f", "-"], input=script, text=True,
                           capture_output=True, check=False)  # -c: parsed, never applied
    assert check.returncode == 0, check.stderr
    assert not table_exists(nft, TABLE)


async def test_station_notices_a_silent_cut_by_its_own_ping(tmp_path: Path, nft: str,
                                                            caplog) -> None:
    caplog.set_level(logging.INFO, logger="sim.station.link")
    async with station_rig(tmp_path, keys={"WebSocketPingInterval": 1},
                           station={"ping_timeout_s": 1.0}) as rig:
        net = nft_network(rig, detection_timeout_s=20)
        await net.activate()
        try:
            before = rig.cs.generation
            await net.cut(1.0)
            seen = net.detection()
            assert seen is not None and seen.driver == "nft-drop"
            assert seen.seconds is not None and 1.0 <= seen.seconds < 10
            assert "SYN" in seen.basis and seen.detail["syn_packets"] >= 1
            assert not rig.cs.connected  # the bench let go of its end (silently)
            assert not rig.sim.status()["connected"]  # the station went offline by itself,
            assert "no pong" in caplog.text  # because its ping went unanswered
            handshakes = [e for e in record_events(rig) if e["kind"] == "handshake"]
            assert all(e["name"] == "accepted" for e in handshakes)  # nothing was refused
            await net.restore(reconnect_timeout_s=15)
            assert rig.cs.connected and rig.cs.generation > before
            assert not table_exists(nft, TABLE)
        finally:
            await net.deactivate()


async def test_station_without_ping_never_notices_and_the_cut_is_undone(tmp_path: Path,
                                                                         nft: str) -> None:
    async with station_rig(tmp_path) as rig:  # the SmartDC: no WebSocketPingInterval
        net = nft_network(rig, detection_timeout_s=2)
        await net.activate()
        try:
            with pytest.raises(InstrumentError, match="did not notice the cut within 2 s") as err:
                await net.cut(1.0)
            assert err.value.fatal is False  # an ERROR of the case, the rig stays usable
            assert "127.0.0.1" in str(err.value) and "WebSocketPingInterval" in str(err.value)
            assert rig.sim.status()["connected"]  # unaware: a pulled cable says nothing
            assert not table_exists(nft, TABLE)  # restored before the error
        finally:
            await net.deactivate()


async def test_csms_side_detection_is_the_first_refused_reconnect(tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        net = CsmsSideNetwork("network", rig.csms, STATION_ID)
        assert net.detection() is None
        await net.cut(2.0)
        await wait_until(lambda: net.handshakes.first is not None, 5, "a reconnect attempt")
        await net.restore(reconnect_timeout_s=15)
        seen = net.detection()
        assert seen is not None and seen.driver == "csms-side"
        assert seen.detail["handshake_status"] == 503 and "HTTP 503" in seen.basis
        assert seen.seconds is not None and 0 < seen.seconds < 2.0
        assert "not a loss detection" in seen.basis


async def test_websocket_ping_interval_key_is_optional_and_rejects_negatives(
        tmp_path: Path) -> None:
    async with station_rig(tmp_path) as rig:
        res = await rig.cs.call("GetConfiguration", {"key": ["WebSocketPingInterval"]})
        assert res.payload["unknownKey"] == ["WebSocketPingInterval"]  # SmartDC: NA
    async with station_rig(tmp_path, keys={"WebSocketPingInterval": 5}) as rig:
        for value, status in (("-1", "Rejected"), ("0", "Accepted"), ("2", "Accepted")):
            res = await rig.cs.call("ChangeConfiguration",
                                    {"key": "WebSocketPingInterval", "value": value})
            assert res.payload["status"] == status, value
        res = await rig.cs.call("GetConfiguration", {"key": ["WebSocketPingInterval"]})
        assert res.payload["configurationKey"][0]["value"] == "2"


RIG = """
[station]
id = "CP-1"
[instruments.network]
driver = "nft-drop"
{keys}
"""


def rig_file(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(RIG.format(keys=keys), "utf-8")
    return path


def test_rig_file_builds_the_nft_drop_driver(tmp_path: Path) -> None:
    rig = load_rig(rig_file(tmp_path, 'station_address = "10.20.0.2"\ninterface = "eth1"\n'
                                      "detection_timeout_s = 90"))
    bench = Bench.from_rig(rig, record=None)
    assert isinstance(bench.network, NftDropNetwork)
    assert bench.network.address == "station 10.20.0.2 on eth1 (nftables)"
    assert bench.network.detection_timeout_s == 90
    assert bench.network.filter.table == "bench_netcut_10_20_0_2_eth1"
    assert bench.network in bench.instruments()  # activated, checked and deactivated
    assert "net:10.20.0.2" in rig_resources(rig)  # two runs never cut the same station


@pytest.mark.parametrize(("keys", "message"), [
    ("", "station_address: missing (required)"),
    ('station_address = "station.lab"', "station_address = 'station.lab': must be an IPv4"),
    ('station_address = "10.0.0.2"\ninterface = "eth0; drop"', "interface = 'eth0; drop'"),
    ('station_address = "10.0.0.2"\ndetection_timeout_s = 0', "detection_timeout_s = 0"),
    ('station_address = "10.0.0.2"\nport = 9000', "port: unknown key"),
])
def test_rig_file_errors_of_nft_drop(tmp_path: Path, keys: str, message: str) -> None:
    with pytest.raises(RigError, match=r"\[instruments\.network\] ") as err:
        load_rig(rig_file(tmp_path, keys))
    assert message in str(err.value) and "rig.toml" in str(err.value)

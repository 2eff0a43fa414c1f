"""Network cuts as the bench sees them: the link goes, the station notices, the link comes back.

Two drivers offer the same verbs (bench.verbs: cut_network, restore_network):

- `csms-side` (CsmsSideNetwork, here): the CSMS closes the station's socket and refuses
  its reconnects with HTTP 503. The station sees a clean close at once: for rigs that cannot
  route the station's traffic through the bench host.
- `nft-drop` (NftDropNetwork, here): the bench host drops the station's packets to and from
  the CSMS (instruments.nftables), like a pulled cable. Nothing is closed or refused; the
  station finds out by its own timeouts (WebSocket ping/pong, TCP).

For both, `cut(seconds)` returns once the station is offline as far as the bench can tell,
and the offline window lasts `seconds` from then; `restore()` waits the window out, ends the
cut and, if asked, waits for the reconnection. `detection()` says when the station was seen to
notice the cut: the measurement `network.offline_detection`, with what it rests on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import Mapping
from typing import Any

from instruments.base import Driver
from instruments.errors import InstrumentError
from instruments.interfaces import Identity, NetworkCut, OfflineDetection
from instruments.nftables import NftDropFilter, valid_interface
from instruments.registration import (
    TIMEOUT_KEYS,
    BuildContext,
    DriverRegistration,
    Key,
    KeyProblem,
    RigFacts,
    SafeStep,
)
from instruments.safe_steps import ensure_active

__all__ = ["CSMS_SIDE", "NFT_DROP", "CsmsSideNetwork", "NetworkCut", "NftDropNetwork",
           "OfflineDetection"]

SYN_POLL_S = 0.1  # how often the SYN counter is read while waiting: the figure's resolution
DEFAULT_DETECTION_TIMEOUT_S = 180.0


async def csms_session(csms: Any, station_id: str, timeout_s: float, name: str,
                       address: str) -> Any:
    """The CSMS session of the station under test (a network cut acts on it)."""
    if csms is None:
        raise InstrumentError(name, address, "network cut needs the CSMS: the bench was "
                              "built without one", fatal=False)
    return await csms.wait_for_station(station_id, timeout=timeout_s, boot=False)


class HandshakeWatch:
    """The station's first websocket handshake after a cut, from the run record's events.

    Under csms-side this is its first reconnect attempt: refused with HTTP 503 inside the
    window, accepted after it.
    """

    def __init__(self, record: Any, station_id: str) -> None:
        self.station_id = station_id
        self.since_ns: int | None = None
        self.first: dict[str, Any] | None = None
        if record is not None and hasattr(record, "subscribe"):
            record.subscribe(self._on_line)

    def arm(self, since_ns: int) -> None:
        self.since_ns, self.first = since_ns, None

    def _on_line(self, kind: str, line: dict[str, Any]) -> None:
        if (kind != "events" or self.since_ns is None or self.first is not None
                or line.get("kind") != "handshake"):
            return
        detail = line.get("detail") or {}
        if detail.get("station") == self.station_id and line.get("mono_ns", 0) >= self.since_ns:
            self.first = {"mono_ns": line["mono_ns"], "seq": line.get("seq"),
                          "status": detail.get("status"), "peer": detail.get("peer")}


def csms_side_detection(cut_mono_ns: int, first: dict[str, Any] | None) -> OfflineDetection:
    basis = ("csms-side: the bench closed the station's socket (a clean close the station sees "
             "at once) -> the station's first new websocket handshake")
    if first is None:
        return OfflineDetection("csms-side", cut_mono_ns, None,
                                basis + "; none seen yet (nothing measured)")
    how = "refused with HTTP 503" if first["status"] == 503 else f"HTTP {first['status']}"
    return OfflineDetection(
        "csms-side", cut_mono_ns, first["mono_ns"],
        f"{basis} ({how}). The station did not have to detect anything: this is its "
        "reconnect delay, not a loss detection",
        {"handshake_status": first["status"], "handshake_event_seq": first["seq"]})


class CsmsSideNetwork(Driver):
    """`csms-side`: a network cut as seen from the CSMS: close the station's socket and refuse
    its reconnects. The station sees a clean close at once, not a lost link: for rigs that
    cannot route the station through the bench host (a pulled cable is `nft-drop`)."""

    driver = "csms-side"

    def __init__(self, name: str, csms: Any, station_id: str) -> None:
        super().__init__(name, "csms")
        self.csms = csms
        self.station_id = station_id
        self.station: Any = None  # a CSMS station session, attached by the plan or looked up
        self.refuse_until_mono: float = 0.0
        self.handshakes = HandshakeWatch(getattr(csms, "record", None), station_id)
        self.cut_mono_ns: int | None = None

    async def _identify(self) -> Identity:
        return self.make_identity("CSMS session API: the bench closes the station's socket "
                                  "(nothing to probe)")

    async def _session(self, timeout_s: float) -> Any:
        if self.station is None:
            self.station = await csms_session(self.csms, self.station_id, timeout_s,
                                              self.name, self.address)
        return self.station

    async def cut(self, seconds: float, timeout_s: float = 10.0) -> None:
        station = await self._session(timeout_s)
        self.cut_mono_ns = time.monotonic_ns()
        self.handshakes.arm(self.cut_mono_ns)
        await station.disconnect(refuse_for=seconds)
        self.refuse_until_mono = time.monotonic() + seconds

    async def restore(self, reconnect_timeout_s: float | None = None) -> None:
        """The refusal ends by itself: wait it out, then optionally for the reconnection."""
        remaining = self.refuse_until_mono - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        if reconnect_timeout_s is not None and self.station is not None:
            await self.station.wait_reconnected(reconnect_timeout_s)

    def detection(self) -> OfflineDetection | None:
        """The station's first handshake after the cut (its reconnect attempt)."""
        if self.cut_mono_ns is None:
            return None
        return csms_side_detection(self.cut_mono_ns, self.handshakes.first)


class NftDropNetwork(Driver):
    """`nft-drop`: cut = drop the station's packets on the bench host and wait until the
    station shows it noticed (its first new TCP connection attempt to the CSMS port)."""

    driver = "nft-drop"

    def __init__(self, name: str, packet_filter: NftDropFilter, csms: Any, station_id: str,
                 csms_port: int, detection_timeout_s: float = DEFAULT_DETECTION_TIMEOUT_S,
                 poll_s: float = SYN_POLL_S) -> None:
        super().__init__(name, packet_filter.address)
        self.filter = packet_filter
        self.csms, self.station_id = csms, station_id
        self.rig_csms_port = csms_port
        self.detection_timeout_s = detection_timeout_s
        self.poll_s = poll_s
        self.station: Any = None  # the CSMS session, attached by the plan or looked up
        self.offline_until_mono: float = 0.0
        self._detection: OfflineDetection | None = None

    # -- lifecycle: the packet filter's ---------------------------------------------------
    async def _open(self) -> None:
        await self.filter.activate(readonly=self.readonly)

    async def _identify(self) -> Identity:
        assert self.filter.identity is not None
        return self.filter.identity

    async def _close(self) -> None:
        await self.filter.deactivate()

    def csms_port(self) -> int:
        """The port the CSMS really listens on (an ephemeral one once started)."""
        with contextlib.suppress(Exception):
            return int(self.csms.port)
        return self.rig_csms_port

    # -- the cut ---------------------------------------------------------------------------
    async def cut(self, seconds: float, timeout_s: float = 10.0) -> None:
        self.require_active()
        if self.station is None:
            self.station = await csms_session(self.csms, self.station_id, timeout_s,
                                              self.name, self.address)
        port = self.csms_port()
        self._detection = None
        await self.filter.drop(port)
        cut_ns = time.monotonic_ns()  # the rules are in place: the station is cut from now
        try:
            # the bench's own end goes quietly too (its FIN/RST is dropped): the CSMS knows the
            # cable is out, the station does not
            await self.station.disconnect(refuse_for=0, abrupt=True)
            self._detection = await self._first_syn(cut_ns, port)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.filter.allow()  # a cut that failed must not outlive the verb
            raise
        self.offline_until_mono = time.monotonic() + seconds

    async def _first_syn(self, cut_ns: int, port: int) -> OfflineDetection:
        deadline = cut_ns + int(self.detection_timeout_s * 1e9)
        polls = 0
        while True:
            packets = await self.filter.syn_packets()
            polls += 1
            now = time.monotonic_ns()
            if packets > 0:
                return OfflineDetection(
                    "nft-drop", cut_ns, now,
                    f"nft-drop: the station's packets dropped on the bench host -> its first "
                    f"new TCP connection attempt (SYN to CSMS port {port}) counted by the "
                    f"bench's nftables table (read every {self.poll_s:g} s: an upper bound by "
                    "that much). Rests on the inference that a station tries a new connection "
                    "once it deems the link lost: its own detection (WebSocket ping/pong, TCP "
                    "timeouts) plus any delay before it reconnects",
                    {"syn_packets": packets, "polls": polls, "csms_port": port,
                     "table": self.filter.table})
            if now >= deadline:
                raise InstrumentError(
                    self.name, self.address,
                    f"the station did not notice the cut within {self.detection_timeout_s:g} "
                    f"s: no new connection attempt (TCP SYN) from {self.filter.station_address} "
                    f"to CSMS port {port} ({polls} reads of counter {self.filter.table}/"
                    "station_syn, all 0). A station without WebSocketPingInterval may notice "
                    "only at its TCP timeout: set the key, or raise detection_timeout_s. "
                    "The link was restored", fatal=False)
            await asyncio.sleep(self.poll_s)

    async def restore(self, reconnect_timeout_s: float | None = None) -> None:
        self.require_active()
        remaining = self.offline_until_mono - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        await self.restore_now()
        if reconnect_timeout_s is not None and self.station is not None:
            await self.station.wait_reconnected(reconnect_timeout_s)

    async def restore_now(self) -> dict[str, Any]:
        """Let the station's traffic pass at once (safe state too); the read-back."""
        await self.filter.allow()
        state = await self.filter.state()
        if state.dropping:
            raise self.error(f"still dropping after the table was deleted: {state.as_dict()}")
        self.offline_until_mono = 0.0
        return state.as_dict()

    def detection(self) -> OfflineDetection | None:
        return self._detection

    async def readback(self) -> dict[str, Any] | None:
        return self._detection.as_dict() if self._detection is not None else None


# -- registrations ----------------------------------------------------------------------------


def _ip_address(value: str, rig: RigFacts) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise KeyProblem(f"= {value!r}: must be an IPv4 or IPv6 address (no host name: the "
                         "filter matches addresses)") from None


def _interface(value: str, rig: RigFacts) -> None:
    if not valid_interface(value):
        raise KeyProblem(f"= {value!r}: must be a network interface name (1-15 letters, "
                         "digits, _ . : -)")


def _build_csms_side(ctx: BuildContext) -> CsmsSideNetwork:
    return CsmsSideNetwork(ctx.name, ctx.csms, ctx.rig.station_id)


def _build_nft_drop(ctx: BuildContext) -> NftDropNetwork:
    p = ctx.params
    packet_filter = NftDropFilter(ctx.name, p["station_address"], p.get("interface"),
                                  p.get("timeout_s", 5.0))
    return NftDropNetwork(ctx.name, packet_filter, ctx.csms, ctx.rig.station_id,
                          ctx.rig.csms_port,
                          p.get("detection_timeout_s", DEFAULT_DETECTION_TIMEOUT_S))


async def _restored(network: NftDropNetwork) -> dict[str, Any]:
    await ensure_active(network)  # activation alone removes a table left by a crash
    return await network.restore_now()  # raises when the read-back still shows drops


def _link_resource(params: Mapping[str, Any]) -> list[str]:
    return [f"net:{params['station_address']}"]


CSMS_SIDE = DriverRegistration(
    name=CsmsSideNetwork.driver, role="network", provides=NetworkCut, keys={},
    build=_build_csms_side, lock_resources=lambda params: [],
    doc="the CSMS closes the station's socket and refuses its reconnects (HTTP 503)")

NFT_DROP = DriverRegistration(
    name=NftDropNetwork.driver, role="network", provides=NetworkCut,
    keys={
        "station_address": Key(str, required=True, check=_ip_address,
                               doc="the station's IP address as the bench host sees it"),
        "interface": Key(str, check=_interface,
                         doc="the bench host's interface towards the station (optional)"),
        "detection_timeout_s": Key((int, float), positive=True, doc="how long a cut waits for "
                                   "the station to notice (its first reconnect attempt)"),
        **TIMEOUT_KEYS,
    },
    build=_build_nft_drop, lock_resources=_link_resource,
    safe_state=(SafeStep("restored", _restored, "the station's packets pass again"),),
    doc="the bench host drops the station's packets like a pulled cable (nftables, root)")

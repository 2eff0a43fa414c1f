"""The CSMS endpoint: it admits stations and runs their sessions.

Its own listener and transport (bench/csms/listener.py, transport.py) stamp every byte where
it crosses the socket; websockets' sans-I/O protocol does the HTTP upgrade and the framing
(bench/csms/connection.py); the endpoint decides who may connect (bench/csms/handshake.py),
records every handshake, and wires each accepted link to its station's session
(bench/csms/station.py) through a receiver (bench/csms/receiver.py).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.http11 import Request, Response
from websockets.protocol import CONNECTING, OPEN

from bench.csms import handshake
from bench.csms.connection import LinkSettings, WsLink
from bench.csms.identity import file_safe
from bench.csms.listener import Listener
from bench.csms.receiver import Receiver
from bench.csms.responders import DefaultAnswers
from bench.csms.secrets import KeyScrubber
from bench.csms.session import Booted
from bench.csms.settings import CsmsSettings, settings_from_rig
from bench.csms.station import HandshakeSeen, Station
from bench.csms.transport import StampedTransport
from bench.csms.versions import SUBPROTOCOLS, SUPPORTED
from bench.csms.windows import InboxBudget
from bench.logredact import redacting_logger
from bench.record import RunRecord
from bench.textsafe import visible

# deadline of the HTTP upgrade; the TLS handshake gets the same one before it
OPEN_TIMEOUT_S = 10.0
# a close handshake (or a refused upgrade) ends within this, else the socket is dropped
CLOSE_TIMEOUT_S = 10.0
PING_TIMEOUT_S = 20.0  # a keepalive ping's pong must come within this
# Sessions of identities admitted by any_station are kept up to this many; beyond, the oldest
# disconnected one is let go (counted). Configured identities are always kept.
MAX_SESSIONS = 1000
# per-station BootNotification snapshots (snapshots/station-<id>.json) written at most
MAX_STATION_SNAPSHOTS = 1000
# A station's snapshot is rewritten at most once per this many seconds; a BootNotification
# that comes sooner is written when the interval ends (or at stop): a station flooding boots
# costs no file rename per frame.
SNAPSHOT_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class TlsRefusal:
    """A TLS handshake the endpoint saw fail (from whom and why)."""

    mono_ns: int
    peer: str
    reason: str


class Csms:
    """The central system the station under test connects to.

    `Csms(settings, record)` or `Csms(rig, record)` (a bench.config.rig.Rig), or
    `Csms.from_rig(rig, record, **overrides)`. `await start()`, `url`, `await stop()`.
    """

    def __init__(self, settings: CsmsSettings | Any, record: RunRecord) -> None:
        if not isinstance(settings, CsmsSettings):
            settings = settings_from_rig(settings)
        self.settings = settings
        self.record = record
        self.defaults = DefaultAnswers(settings)
        self.stations: dict[str, Station] = {}
        self.latency: deque[tuple[int, int, int]] | None = (
            deque(maxlen=settings.latency_probe_size) if settings.latency_probe else None)
        self._listener: Listener | None = None
        self._port: int | None = None
        self._serving = False
        self._tls: ssl.SSLContext | None = None
        self._tls_beside_plain: ssl.SSLContext | None = None  # serve_tls_too()
        self._trusted_station_pems: list[str] = []  # trust_station_ca(), kept for a new context
        self._server_cert: tuple[Path, Path] | None = None  # what TLS connections are shown
        # the latest refused TLS handshakes (no identity is known before HTTP)
        self.tls_refusals: deque[TlsRefusal] = deque(maxlen=64)
        self._sniffing: dict[socket.socket, asyncio.TimerHandle] = {}  # first byte awaited
        self._link_settings: LinkSettings | None = None
        self._links: set[WsLink] = set()  # every connection not closed yet
        self._handlers: set[asyncio.Task[Any]] = set()
        self._scrubber = KeyScrubber(settings.keys())
        self._scrubbed_keys = tuple(settings.keys())
        self.inbox_budget = InboxBudget(reclaim=self._reclaim_inboxes)
        self.let_go: Counter[str] = Counter()  # sessions, station snapshots not kept
        self._snapshot_names: set[str] = set()
        self._snapshot_written: dict[str, float] = {}  # station id -> monotonic time
        self._snapshot_due: dict[str, dict[str, Any]] = {}  # station id -> latest boot
        # whose BootNotification is snapshots/station.json: the first configured station, or
        # (no station configured) the first one that boots
        self._main_station: str | None = next(iter(settings.stations), None)

    @property
    def scrubber(self) -> KeyScrubber:
        """Hides every key configured so far (a password update adds one at run time)."""
        keys = tuple(self.settings.keys())
        if keys != self._scrubbed_keys:
            self._scrubber, self._scrubbed_keys = KeyScrubber(keys), keys
        return self._scrubber

    @classmethod
    def from_rig(cls, rig: Any, record: RunRecord, **overrides: Any) -> Csms:
        return cls(settings_from_rig(rig, **overrides), record)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        for version in SUPPORTED:
            version.warm_up()
        self._tls = self._ssl_context()
        if self._tls is not None:
            self._server_cert = (Path(str(self.settings.tls_cert)),
                                 Path(str(self.settings.tls_key)))
        self._link_settings = LinkSettings(
            # the bench checks max_frame_bytes itself (to record and answer); this limit
            # only guards memory
            max_size=max(16 * s.max_frame_bytes, 1 << 20),
            ping_interval_s=s.ping_interval_s, ping_timeout_s=PING_TIMEOUT_S,
            open_timeout_s=OPEN_TIMEOUT_S, close_timeout_s=CLOSE_TIMEOUT_S,
            server_header="ocpp-hil-bench", subprotocols=SUBPROTOCOLS,
            logger=redacting_logger("bench.csms.websocket"))  # debug logs show headers
        self._listener = await Listener.open(s.host, s.port, self._accept)
        self._port = self._listener.port
        self._serving = True
        self.record.event("connection", "listening", url=self.url,
                          security_profile=s.security_profile, any_station=s.any_station,
                          stations=sorted(s.stations))

    async def stop(self) -> None:
        if self._listener is None:
            return
        self._serving = False
        self._listener.close()
        for sock, timer in list(self._sniffing.items()):  # nothing said yet: just close
            timer.cancel()
            asyncio.get_running_loop().remove_reader(sock.fileno())
            sock.close()
        self._sniffing.clear()
        for link in list(self._links):
            if link.state is CONNECTING:  # a slow or silent opener must not hold stop()
                link.abort_opening()
            elif link.state is OPEN:
                self._spawn(link.close(1001, "the bench stopped"))
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=CLOSE_TIMEOUT_S + 2)
        for link in list(self._links):
            link.abort()
        for station_id in list(self._snapshot_due):
            self._write_due_snapshot(station_id)
        self._listener = None
        let_go = dict(self.let_go)
        for st in self.stations.values():
            for name, n in st.let_go.items():
                let_go[name] = let_go.get(name, 0) + n
        self.record.event("connection", "stopped", url=self.url, let_go=let_go)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def __aenter__(self) -> Csms:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("Csms not started")
        return self._port

    @property
    def url(self) -> str:
        """What a station appends `/<chargePointId>` to."""
        s = self.settings
        scheme = "wss" if s.uses_tls else "ws"
        host = f"[{s.host}]" if ":" in s.host else s.host
        base = f"{scheme}://{host}:{self.port}"
        return f"{base}/{s.path_prefix}" if s.path_prefix else base

    def _ssl_context(self) -> ssl.SSLContext | None:
        s = self.settings
        if not s.uses_tls:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(s.tls_cert), str(s.tls_key))
        if s.security_profile == 3:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(str(s.tls_ca))
        return ctx

    # -- stations ------------------------------------------------------------------------------
    def station(self, station_id: str) -> Station:
        """The session of `station_id` (created on first use; survives reconnects)."""
        st = self.stations.get(station_id)
        if st is None:
            if len(self.stations) >= MAX_SESSIONS:
                self._let_go_one_session()
            st = self.stations[station_id] = Station(
                station_id, self.settings, self.record, self.defaults.table(),
                self.inbox_budget, configured=station_id in self.settings.stations)
            st.session.subscribe(Booted, self._booted)
        return st

    def _booted(self, event: Booted) -> None:
        if event.changed:  # a reboot with the same payload: the file is right
            self.snapshot_station(event.station, {"id": event.station, **event.boot.payload})

    def _let_go_one_session(self) -> None:
        """Forget the oldest disconnected session of an identity that is not configured."""
        for sid, st in self.stations.items():
            if not st.connected and sid not in self.settings.stations:
                st.mailbox.clear()  # its inbox leaves the endpoint's budget
                del self.stations[sid]
                self.let_go["sessions"] += 1
                return

    def _reclaim_inboxes(self) -> None:
        """The endpoint's inboxes are over budget: empty those of disconnected stations that
        are not configured (no test plan waits for them), oldest session first."""
        budget = self.inbox_budget
        for sid, st in self.stations.items():
            if budget.used <= budget.limit:
                return
            if not st.connected and sid not in self.settings.stations and st.mailbox.inbox:
                st.mailbox.dropped += st.mailbox.clear()

    def snapshot_station(self, station_id: str, boot: dict[str, Any]) -> None:
        """A station's BootNotification: snapshots/station-<id>.json for each station, and
        snapshots/station.json for the station under test (at most every SNAPSHOT_INTERVAL_S;
        the latest one always ends up on disk)."""
        if self._main_station is None:
            self._main_station = station_id
        name = f"station-{file_safe(station_id)}"
        if name not in self._snapshot_names:
            if len(self._snapshot_names) >= MAX_STATION_SNAPSHOTS:
                self.let_go["station_snapshots"] += 1
                return
            self._snapshot_names.add(name)
        if station_id in self._snapshot_due:
            self._snapshot_due[station_id] = boot  # written when its interval ends
            return
        wait = self._snapshot_written.get(station_id, -1e9) + SNAPSHOT_INTERVAL_S - time.monotonic()
        self._snapshot_due[station_id] = boot
        if wait <= 0:
            self._write_due_snapshot(station_id)
        else:
            asyncio.get_running_loop().call_later(wait, self._write_due_snapshot, station_id)

    def _write_due_snapshot(self, station_id: str) -> None:
        boot = self._snapshot_due.pop(station_id, None)
        if boot is None:
            return
        self._snapshot_written[station_id] = time.monotonic()
        if station_id == self._main_station:
            self.record.snapshot("station", boot)
        self.record.snapshot(f"station-{file_safe(station_id)}", boot)

    async def wait_for_station(self, station_id: str, timeout: float = 60.0,  # noqa: ASYNC109
                               boot: bool = True) -> Station:
        """The station once connected and, with boot=True, once a BootNotification was accepted."""
        st = self.station(station_id)
        if boot:
            await st.wait_booted(timeout)
        else:
            await st.wait_connected(timeout)
        return st

    def latency_samples(self) -> list[tuple[int, int, int]]:
        """(arrival_ns, send_called_ns, send_returned_ns) of each answered station CALL.

        Kept only with settings.latency_probe (bounded by latency_probe_size): the
        endpoint's own added latency, for benchmarks/bench_endpoint.py."""
        return list(self.latency or ())

    # -- connections (LinkObserver) ----------------------------------------------------------
    def serve_tls_too(self, cert: Path, key: Path) -> None:
        """Take TLS connections beside plain ones on the same port (a station raised to
        profile 2 at run time comes back over wss:// to the same address): the first byte
        of a connection tells (0x16 opens a TLS handshake)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key))
        self._tls_beside_plain = ctx
        self._server_cert = (Path(cert), Path(key))
        self.record.event("connection", "tls-beside-plain", url=self.url, certificate=str(cert))

    def use_server_certificate(self, cert: Path, key: Path) -> tuple[Path, Path]:
        """Present this certificate on TLS connections from now on (the transport cases show
        a station one that it must refuse); the certificate and key used before."""
        before = self._server_cert
        if self._tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(cert), str(key))
            if self.settings.security_profile == 3:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(str(self.settings.tls_ca))
                for pem in self._trusted_station_pems:
                    ctx.load_verify_locations(cadata=pem)
            self._tls = ctx
        if self._tls_beside_plain is not None:
            self.serve_tls_too(cert, key)
        self._server_cert = (Path(cert), Path(key))
        self.record.event("connection", "server-certificate", url=self.url, certificate=str(cert))
        return before

    def trust_station_ca(self, pem: str) -> None:
        """Profile 3: client certificates that chain to these certificates (PEM, the bench's
        station CA and its root) are taken from now on."""
        if self._tls is not None and self.settings.security_profile == 3:
            self._tls.load_verify_locations(cadata=pem)
            self._trusted_station_pems.append(pem)
            self.record.event("connection", "station-ca-trusted", url=self.url)

    def _accept(self, sock: socket.socket) -> None:
        if self._tls is None and self._tls_beside_plain is not None:
            self._sniff(sock)
            return
        self._open_link(sock, self._tls)

    def _sniff(self, sock: socket.socket) -> None:
        """Wait (up to the opening timeout) for the first byte, then open plain or TLS."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        fd = sock.fileno()

        def give_up() -> None:
            self._sniffing.pop(sock, None)
            loop.remove_reader(fd)
            sock.close()

        def readable() -> None:
            try:
                first = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                return
            except OSError:
                first = b""
            loop.remove_reader(fd)
            timer.cancel()
            self._sniffing.pop(sock, None)
            if not first:
                sock.close()
                return
            self._open_link(sock, self._tls_beside_plain if first == b"\x16" else None)

        timer = loop.call_later(OPEN_TIMEOUT_S, give_up)
        loop.add_reader(fd, readable)
        self._sniffing[sock] = timer

    def _open_link(self, sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        assert self._link_settings is not None
        try:
            transport = StampedTransport(sock, tls=tls, tls_timeout_s=OPEN_TIMEOUT_S)
        except OSError:  # reset before it could be set up: nothing was exchanged
            sock.close()
            return
        link = WsLink(transport, self, self._link_settings)
        self._links.add(link)
        link.closed.add_done_callback(lambda _f: self._links.discard(link))
        link.start()

    def serving(self) -> bool:
        return self._serving

    def decide(self, link: WsLink, request: Request) -> Response | None:
        s = self.settings
        identity = handshake.identity_from_path(request.path, s.path_prefix)
        known = self.stations.get(identity) if identity else None
        refused = known.refused_for_s() if known else None
        tls = link.transport.ssl_object is not None
        profile = s.profile_for(identity) if identity else s.security_profile
        peer_cert = link.transport.peer_certificate() if profile == 3 and tls else None
        decision = handshake.decide(s, request.path, request.headers, peer_cert, refused,
                                    self.scrubber, tls=tls)
        link.bench_decision = decision  # recorded once the response is sent
        link.bench_request = (  # what the transport cases judge, whatever the decision
            tuple(handshake.offered_subprotocols(request.headers)),
            handshake.basic_seen(request.headers, identity, self.scrubber),
            handshake.common_name(peer_cert or (link.transport.peer_certificate() if tls
                                                else None)))
        if decision.accepted:
            return None
        response = link.reject(decision.status, decision.reason + "\n")  # type: ignore[arg-type]
        if decision.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
        return response

    def opened(self, link: WsLink) -> None:
        """An accepted link: its station's session takes it now, before its next frame."""
        decision = link.bench_decision
        identity = decision.identity if decision is not None else None
        assert identity is not None  # refused in decide() otherwise
        station = self.station(identity)
        old = station.link
        if old is not None:
            self.record.event("connection", "replaced", station=identity, peer=link.peer,
                              reason="same identity connected again; old connection closed")
            station.detach(old, "replaced by a new connection")
            self._spawn(old.close(1000, "replaced by a new connection"))
        station.attach(link)
        receiver = Receiver(station, link, self.record, station.ocpp,
                            self.settings.max_frame_bytes, self.latency)
        link.on_message = receiver.on_message
        self.record.event("connection", "connected", station=identity, peer=link.peer,
                          subprotocol=link.subprotocol, generation=station.generation,
                          stamps=link.stamp_source)
        self._spawn(self._serve(link, station, receiver))

    async def _serve(self, link: WsLink, station: Station, receiver: Receiver) -> None:
        reason = "ended"
        try:
            reason = receiver.closed(await link.closed)
        except Exception as e:  # a bench bug must not take the server down
            reason = f"bench error in the receive loop: {e!r}"
            self.record.event("log", "receive-loop-error", station=station.id, error=repr(e))
            raise
        finally:
            station.detach(link, reason)
            self.record.event("connection", "disconnected", station=station.id, peer=link.peer,
                              reason=reason, generation=station.generation,
                              let_go=station.let_go)

    def tls_refused(self, peer: str, reason: str, detail: dict[str, Any]) -> None:
        self.tls_refusals.append(TlsRefusal(time.monotonic_ns(), peer, reason))
        self.record.event("handshake", "tls-refused", peer=peer, reason=reason,
                          security_profile=self.settings.security_profile,
                          **self.scrubber.scrub(detail))

    def handshake_ended(self, connection: WsLink, status: int | None, body: str,
                        failure: str | None) -> None:
        """One handshake event per opening handshake, with the status actually sent."""
        decision = connection.bench_decision
        detail: dict[str, Any] = dict(decision.detail) if decision is not None else {}
        station = decision.identity if decision is not None else None
        if status is None:
            name, reason = "failed", failure or "no response sent"
        elif decision is not None and (status == 101) == decision.accepted:
            name, reason = ("accepted" if status == 101 else "refused"), decision.reason
        else:  # the websocket library answered on its own (a request it refuses, shutdown)
            name = "accepted" if status == 101 else "refused"
            reason = visible(body.strip().splitlines()[0] if body.strip() else f"HTTP {status}")
            detail["refused_by"] = "websockets"
        known = self.stations.get(station) if station else None
        if known is None and station in self.settings.stations:  # its first handshake
            known = self.station(station)
        if known is not None:  # a case may ask how it came and why it did not get in
            offered, basic, cn = getattr(connection, "bench_request", ((), None, None))
            known.handshakes.append(HandshakeSeen(
                time.monotonic_ns(), status, self.scrubber.text(reason),
                connection.transport.ssl_object is not None,
                tuple(visible(o)[:40] for o in offered),
                connection.subprotocol if status == 101 else None, basic,
                visible(cn)[:80] if cn else None))
        self.record.event("handshake", name, station=self.scrubber.text(station or "") or None,
                          peer=connection.peer, status=status,
                          reason=self.scrubber.text(reason), **self.scrubber.scrub(detail))

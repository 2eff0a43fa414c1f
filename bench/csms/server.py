"""The CSMS endpoint: a websockets server that admits stations and runs their sessions."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from bench.csms import handshake, schemas
from bench.csms.receiver import Receiver
from bench.csms.responders import DefaultAnswers
from bench.csms.settings import CsmsSettings, settings_from_rig
from bench.csms.station import Station
from bench.logredact import redacting_logger
from bench.record import RunRecord


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
        self._server: Server | None = None
        self._port: int | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_rig(cls, rig: Any, record: RunRecord, **overrides: Any) -> Csms:
        return cls(settings_from_rig(rig, **overrides), record)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        schemas.warm_up()
        self._server = await serve(
            self._handle, s.host, s.port,
            subprotocols=[handshake.SUBPROTOCOL],
            process_request=self._process_request,
            ssl=self._ssl_context(),
            # the bench checks max_frame_bytes itself (to record and answer); the library
            # limit only guards memory
            max_size=max(16 * s.max_frame_bytes, 1 << 20),
            ping_interval=s.ping_interval_s,
            server_header="ocpp-hil-bench",
            logger=redacting_logger("bench.csms.websocket"),  # debug logs show headers
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self.record.event("connection", "listening", url=self.url,
                          security_profile=s.security_profile, any_station=s.any_station,
                          stations=sorted(s.stations))

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        self.record.event("connection", "stopped", url=self.url)

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
            st = self.stations[station_id] = Station(self, station_id)
        return st

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

    # -- websocket handshake and connections -----------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        s = self.settings
        identity = handshake.identity_from_path(request.path, s.path_prefix)
        known = self.stations.get(identity) if identity else None
        refused = known.refused_for_s() if known else None
        peer_cert = None
        if s.security_profile == 3:
            ssl_object = connection.transport.get_extra_info("ssl_object")
            peer_cert = ssl_object.getpeercert() if ssl_object else None
        decision = handshake.decide(s, request.path, request.headers, peer_cert, refused)
        peer = _peer(connection)
        self.record.event("handshake", "accepted" if decision.accepted else "refused",
                          station=decision.identity, peer=peer, status=decision.status or 101,
                          reason=decision.reason, **decision.detail)
        if decision.accepted:
            return None
        response = connection.respond(decision.status, decision.reason + "\n")  # type: ignore[arg-type]
        if decision.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        identity = handshake.identity_from_path(ws.request.path, self.settings.path_prefix)  # type: ignore[union-attr]
        assert identity is not None  # refused in _process_request otherwise
        station = self.station(identity)
        old = station.ws
        peer = _peer(ws)
        if old is not None:
            self.record.event("connection", "replaced", station=identity, peer=peer,
                              reason="same identity connected again; old connection closed")
            station.detach(old, "replaced by a new connection")
            await old.close(1000, "replaced by a new connection")
        station.attach(ws)
        self.record.event("connection", "connected", station=identity, peer=peer,
                          subprotocol=ws.subprotocol, generation=station.generation)
        reason = "ended"
        try:
            reason = await Receiver(station, ws, self.latency).run()
        except Exception as e:  # a bench bug must not take the server down
            reason = f"bench error in the receive loop: {e!r}"
            self.record.event("log", "receive-loop-error", station=identity, error=repr(e))
            raise
        finally:
            station.detach(ws, reason)
            self.record.event("connection", "disconnected", station=identity, peer=peer,
                              reason=reason, generation=station.generation)


def _peer(connection: ServerConnection) -> str:
    try:
        addr = connection.remote_address
        return f"{addr[0]}:{addr[1]}"
    except Exception:
        return "?"

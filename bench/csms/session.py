"""The one picture of what a station is doing: connector statuses, transactions, boots, the
response time of every CALL of the bench and every PDU the station sent.

Fed once, by the receive loop, from frames as they were stamped at the socket and answered
(`SessionState.station_call`, `.station_pdu`, `.response`); read by test plans, maintenance,
the energy comparison and the idle-time measurements; and published as typed events
(`subscribe(TransactionStarted, fn)`) to whoever follows it as it happens. Everything is
bounded like the rest of a session (the run record keeps everything): what was let go is
counted in the session's `let_go`.

A station CALL changes the picture once its answer is settled (sent, refused or left out on
purpose), whatever that answer was: a StatusNotification or StopTransaction reports what the
station did even when the bench refused it with a CALLERROR (the station then sends it again).
Only what the bench itself grants needs its CALLRESULT: a transaction exists once the bench
answered StartTransaction with a transactionId, and `booted` once it accepted a boot.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.csms.errors import ExpectTimeout
from bench.csms.messages import CALL, CALLERROR, CALLRESULT, Received

# Bounds of one session's picture (the counts of what was let go are in `let_go`)
CONNECTORS_KEPT = 64
OPEN_TRANSACTIONS_KEPT = 256
FINISHED_TRANSACTIONS_KEPT = 1000
BOOTS_KEPT = 100
RESPONSES_KEPT = 100_000  # the bench's own CALLs: a long soak's worth
# every PDU of the station under test (idle times need minutes of it, a soak's recent past);
# identities admitted by any_station keep a short memory, so 1000 of them stay small
PDUS_KEPT = 50_000
PDUS_KEPT_UNCONFIGURED = 1000


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    connector: int
    status: str
    error_code: str
    mono_ns: int
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FirmwareStatus:
    """The station's last FirmwareStatusNotification (OCPP 1.6 §4.5)."""

    status: str
    mono_ns: int
    seq: int


@dataclass(slots=True)
class Transaction:
    """A transaction the bench gave an id to, and how it ended (None while open)."""

    transaction_id: int
    connector_id: int | None
    id_tag: str | None
    meter_start: Any
    timestamp: str | None
    mono_ns: int  # arrival stamp of the StartTransaction
    start_seq: int
    meter_stop: Any = None
    stop_reason: str | None = None
    stop_mono_ns: int | None = None
    stop_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Boot:
    mono_ns: int
    seq: int
    payload: dict[str, Any]
    accepted: bool


@dataclass(frozen=True, slots=True)
class ResponseSample:
    """One CALL of the bench and its answer: socket stamps both ways."""

    action: str
    seconds: float
    sent_seq: int
    answer_seq: int
    case: str | None
    error: str | None = None  # the CALLERROR code, if the answer was one
    attempt: int | None = None  # the attempt of `case` the CALL was sent in
    late: bool = False  # came after the bench's response timeout


@dataclass(frozen=True, slots=True)
class StationPdu:
    """A frame the station sent: a CALL of its own or its answer to one of the bench's."""

    station: str
    mono_ns: int
    seq: int
    msg_type: int
    action: str | None

    @property
    def what(self) -> str:
        kind = {CALL: "", CALLRESULT: "answer to ", CALLERROR: "CALLERROR to "}
        return f"{kind.get(self.msg_type, '?')}{self.action or '?'}"


# -- events ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Booted:
    station: str
    boot: Boot
    changed: bool  # its payload differs from the previous boot's


@dataclass(frozen=True, slots=True)
class StatusChanged:
    station: str
    status: ConnectorStatus


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    station: str
    transaction: Transaction


@dataclass(frozen=True, slots=True)
class MeterValuesReceived:
    station: str
    transaction_id: Any  # as sent (may be absent: None)
    connector_id: Any
    meter_value: list[Any]
    mono_ns: int
    seq: int


@dataclass(frozen=True, slots=True)
class TransactionStopped:
    station: str
    transaction: Transaction | None  # None: an id the bench never gave (or let go)
    payload: dict[str, Any]
    mono_ns: int
    seq: int


@dataclass(frozen=True, slots=True)
class ResponseTimed:
    station: str
    sample: ResponseSample


Event = Booted | StatusChanged | TransactionStarted | MeterValuesReceived | TransactionStopped \
    | ResponseTimed
E = TypeVar("E")


class SessionState:
    """What one station is doing, as seen at the socket (one per identity, across reconnects)."""

    def __init__(self, station_id: str, configured: bool = True,
                 let_go: Counter[str] | None = None,
                 on_listener_error: Callable[[Any, Exception], None] | None = None) -> None:
        """configured: the rig's station (an identity admitted by any_station keeps a
        short PDU memory)."""
        self.station = station_id
        self.let_go: Counter[str] = let_go if let_go is not None else Counter()
        self.statuses: dict[int, ConnectorStatus] = {}
        self._open: dict[int, Transaction] = {}
        self._finished: deque[Transaction] = deque(maxlen=FINISHED_TRANSACTIONS_KEPT)
        self._by_start: OrderedDict[int, Transaction] = OrderedDict()  # start seq -> tx
        self.boots: deque[Boot] = deque(maxlen=BOOTS_KEPT)
        self.firmware: FirmwareStatus | None = None
        self.boot_count = 0
        self.booted = False  # a BootNotification was accepted (ever, on this session)
        self._responses: deque[ResponseSample] = deque(maxlen=RESPONSES_KEPT)
        self._pdus: deque[StationPdu] = deque(
            maxlen=PDUS_KEPT if configured else PDUS_KEPT_UNCONFIGURED)
        self._listeners: dict[type, list[Callable[[Any], None]]] = {}
        self._on_listener_error = on_listener_error

    # -- events --------------------------------------------------------------------------
    def subscribe(self, kind: type[E], fn: Callable[[E], None]) -> Callable[[], None]:
        """Call fn(event) for every event of `kind`, in the receive loop, as it happens; returns
        the unsubscribe function. A listener that raises is reported, never breaks the loop."""
        self._listeners.setdefault(kind, []).append(fn)

        def unsubscribe() -> None:
            fns = self._listeners.get(kind, [])
            if fn in fns:
                fns.remove(fn)

        return unsubscribe

    def _publish(self, event: Event) -> None:
        for fn in list(self._listeners.get(type(event), ())):
            try:
                fn(event)
            except Exception as exc:  # a follower's bug costs its own view, not the session
                if self._on_listener_error is not None:
                    self._on_listener_error(fn, exc)

    # -- fed by the receive loop -----------------------------------------------------------
    def station_pdu(self, mono_ns: int, seq: int, msg_type: int | None,
                    action: str | None) -> None:
        """A frame the station sent (its activity: what idle times are measured on)."""
        if msg_type in (CALL, CALLRESULT, CALLERROR):
            self._keep(self._pdus, StationPdu(self.station, mono_ns, seq, msg_type, action),
                       "station_pdus")

    def station_call(self, call: Received, reply: Any) -> None:
        """A station CALL and what the bench answered: the CALLRESULT payload (a dict), a
        CallErrorReply, or None when no answer went out."""
        action, p = call.action, call.payload
        if action == "BootNotification":
            self._boot(call, reply)
        elif action == "StatusNotification":
            self._status(call)
        elif action == "StartTransaction":
            self._started(call, reply)
        elif action == "StopTransaction":
            self._stopped(call)
        elif action == "FirmwareStatusNotification":
            self.firmware = FirmwareStatus(str(p.get("status")), call.mono_ns, call.seq)
        elif action == "MeterValues":
            values = p.get("meterValue")
            self._publish(MeterValuesReceived(self.station, p.get("transactionId"),
                                              p.get("connectorId"),
                                              values if isinstance(values, list) else [],
                                              call.mono_ns, call.seq))

    def response(self, sample: ResponseSample) -> None:
        self._keep(self._responses, sample, "response_samples")
        self._publish(ResponseTimed(self.station, sample))

    def _boot(self, call: Received, reply: Any) -> None:
        accepted = isinstance(reply, dict) and reply.get("status") == "Accepted"
        changed = not self.boots or self.boots[-1].payload != call.payload
        boot = Boot(call.mono_ns, call.seq, call.payload, accepted)
        self._keep(self.boots, boot, "boots")
        self.boot_count += 1
        self.booted = self.booted or accepted
        # a reboot ends what the station had in memory: it reports its connectors again
        self.statuses.clear()
        self._publish(Booted(self.station, boot, changed))

    def _status(self, call: Received) -> None:
        p = call.payload
        connector = p.get("connectorId")
        if not isinstance(connector, int):
            return
        status = ConnectorStatus(connector, str(p.get("status")), str(p.get("errorCode")),
                                 call.mono_ns, call.seq, p)
        self._bounded_put(self.statuses, connector, status, CONNECTORS_KEPT, "connector_status")
        self._publish(StatusChanged(self.station, status))

    def _started(self, call: Received, reply: Any) -> None:
        tid = reply.get("transactionId") if isinstance(reply, dict) else None
        if not isinstance(tid, int) or isinstance(tid, bool):
            return
        p = call.payload
        tx = Transaction(tid, p.get("connectorId"), p.get("idTag"), p.get("meterStart"),
                         p.get("timestamp"), call.mono_ns, call.seq)
        self._bounded_put(self._open, tid, tx, OPEN_TRANSACTIONS_KEPT, "transactions")
        self._by_start[call.seq] = tx
        while len(self._by_start) > OPEN_TRANSACTIONS_KEPT + FINISHED_TRANSACTIONS_KEPT:
            self._by_start.popitem(last=False)
        self._publish(TransactionStarted(self.station, tx))

    def _stopped(self, call: Received) -> None:
        p = call.payload
        tid = p.get("transactionId")
        tx = self._open.pop(tid, None) if isinstance(tid, int) else None
        if tx is not None:
            tx.meter_stop, tx.stop_reason = p.get("meterStop"), p.get("reason")
            tx.stop_mono_ns, tx.stop_seq = call.mono_ns, call.seq
            self._keep(self._finished, tx, "finished_transactions")
        self._publish(TransactionStopped(self.station, tx, p, call.mono_ns, call.seq))

    # -- what test plans read ----------------------------------------------------------------
    def status(self, connector: int) -> str | None:
        s = self.statuses.get(connector)
        return s.status if s else None

    def open_transactions(self) -> list[Transaction]:
        return list(self._open.values())

    def finished_transactions(self) -> list[Transaction]:
        return list(self._finished)

    def forget_transaction(self, transaction_id: int) -> None:
        """Stop counting a transaction as open (maintenance gave up on its StopTransaction)."""
        self._open.pop(transaction_id, None)

    @property
    def last_boot(self) -> dict[str, Any] | None:
        return self.boots[-1].payload if self.boots else None

    def transaction_started_by(self, start_seq: int) -> Transaction | None:
        """The transaction the bench opened in its answer to the StartTransaction `start_seq`."""
        return self._by_start.get(start_seq)

    async def transaction_of(self, start_seq: int, within: float = 5.0) -> Transaction:
        """Like transaction_started_by, waiting up to `within` s for the bench's answer (a
        delayed responder answers later). Raises ExpectTimeout saying what it saw."""
        tx = self._by_start.get(start_seq)
        if tx is not None:
            return tx
        found: asyncio.Future[Transaction] = asyncio.get_running_loop().create_future()

        def on_start(event: TransactionStarted) -> None:
            if event.transaction.start_seq == start_seq and not found.done():
                found.set_result(event.transaction)

        unsubscribe = self.subscribe(TransactionStarted, on_start)
        try:
            async with asyncio.timeout(within):
                return await found
        except TimeoutError:
            opened = ", ".join(f"{t.transaction_id} (StartTransaction seq {t.start_seq})"
                               for t in self.open_transactions()) or "none"
            raise ExpectTimeout(
                f"station {self.station}: the bench's answer to StartTransaction seq "
                f"{start_seq} gave no transactionId within {within:g} s; open transactions: "
                f"{opened}") from None
        finally:
            unsubscribe()

    def response_samples(self) -> list[ResponseSample]:
        return list(self._responses)

    def pdus_sent(self, since_ns: int) -> list[StationPdu]:
        """What the station sent at or after since_ns, oldest first (within the memory)."""
        return [p for p in list(self._pdus) if p.mono_ns >= since_ns]

    def last_pdu_before(self, mono_ns: int) -> StationPdu | None:
        return next((p for p in reversed(list(self._pdus)) if p.mono_ns < mono_ns), None)

    # -- bounds ---------------------------------------------------------------------------
    def _keep(self, bounded: deque[Any], item: Any, name: str) -> None:
        if len(bounded) == bounded.maxlen:
            self.let_go[name] += 1
        bounded.append(item)

    def _bounded_put(self, table: dict[Any, Any], key: Any, value: Any, limit: int,
                     name: str) -> None:
        """table[key] = value, letting the oldest entry go when a new key would pass `limit`."""
        if key not in table and len(table) >= limit:
            del table[next(iter(table))]
            self.let_go[name] += 1
        table[key] = value

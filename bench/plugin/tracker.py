"""What the station is doing, read from the run record's frames as they are written.

The tracker subscribes to the record, so it sees every frame both ways whoever sent it (test
cases, maintenance, the CSMS's own responders) and needs nothing from the CSMS internals:
connector statuses, open transactions, boots, the response time of every CALL the bench
sends (CALL out -> CALLRESULT/CALLERROR in, socket stamps), per action, and the stamps of
every PDU the station sent (its activity, of which idle times are measured).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

CALL, CALLRESULT, CALLERROR = 2, 3, 4


@dataclass
class ConnectorStatus:
    status: str
    error_code: str
    mono_ns: int
    seq: int


@dataclass
class OpenTransaction:
    transaction_id: int
    connector: int
    id_tag: str
    mono_ns: int
    seq: int


@dataclass
class ResponseSample:
    action: str
    seconds: float
    sent_seq: int
    answer_seq: int
    case: str | None
    error: str | None = None
    attempt: int | None = None  # the attempt of `case` the CALL was sent in


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


STATION_PDU_MEMORY = 50_000  # a soak run's recent past; idle times need minutes, not days


@dataclass
class _PendingOut:
    action: str
    mono_ns: int
    seq: int
    case: str | None
    attempt: int | None = None


@dataclass
class StationTracker:
    statuses: dict[int, ConnectorStatus] = field(default_factory=dict)
    transactions: dict[int, OpenTransaction] = field(default_factory=dict)
    boots: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # mono, seq, payload
    responses: list[ResponseSample] = field(default_factory=list)
    station_pdus: deque[StationPdu] = field(
        default_factory=lambda: deque(maxlen=STATION_PDU_MEMORY))
    _starts: dict[str, tuple[int, str, int, int]] = field(default_factory=dict)
    _out: dict[str, _PendingOut] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- record listener -----------------------------------------------------------------
    def on_line(self, kind: str, line: dict[str, Any]) -> None:
        if kind != "frames":
            return
        try:
            msg = json.loads(line.get("raw") or "")
        except (TypeError, ValueError):
            return
        if not isinstance(msg, list) or len(msg) < 3:
            return
        with self._lock:
            self._frame(line, msg)

    def _frame(self, line: dict[str, Any], msg: list[Any]) -> None:
        mtype, msg_id = msg[0], str(msg[1])
        mono, seq, direction = int(line["mono_ns"]), int(line["seq"]), line.get("direction")
        if direction == "in" and mtype in (CALL, CALLRESULT, CALLERROR):
            action = str(msg[2]) if mtype == CALL else line.get("action")
            self.station_pdus.append(StationPdu(str(line.get("station") or ""), mono, seq,
                                                mtype, action))
        if direction == "out" and mtype == CALL and len(msg) >= 4:
            self._out[msg_id] = _PendingOut(str(msg[2]), mono, seq, line.get("case"),
                                            line.get("attempt"))
        elif direction == "in" and mtype in (CALLRESULT, CALLERROR) and msg_id in self._out:
            p = self._out.pop(msg_id)
            err = str(msg[2]) if mtype == CALLERROR else None
            self.responses.append(
                ResponseSample(p.action, (mono - p.mono_ns) / 1e9, p.seq, seq, p.case, err,
                               p.attempt))
        elif direction == "in" and mtype == CALL and len(msg) >= 4:
            self._station_call(str(msg[2]), msg[3] if isinstance(msg[3], dict) else {},
                               msg_id, mono, seq)
        elif direction == "out" and mtype == CALLRESULT and msg_id in self._starts:
            connector, tag, smono, sseq = self._starts.pop(msg_id)
            payload = msg[2] if isinstance(msg[2], dict) else {}
            tx = payload.get("transactionId")
            if isinstance(tx, int):
                self.transactions[tx] = OpenTransaction(tx, connector, tag, smono, sseq)

    def _station_call(self, action: str, p: dict[str, Any], msg_id: str, mono: int,
                      seq: int) -> None:
        if action == "StatusNotification" and isinstance(p.get("connectorId"), int):
            self.statuses[p["connectorId"]] = ConnectorStatus(
                str(p.get("status")), str(p.get("errorCode")), mono, seq)
        elif action == "StartTransaction":
            self._starts[msg_id] = (int(p.get("connectorId", 0)), str(p.get("idTag", "")),
                                    mono, seq)
        elif action == "StopTransaction":
            self.transactions.pop(p.get("transactionId"), None)  # type: ignore[arg-type]
        elif action == "BootNotification":
            self.boots.append((mono, seq, p))
            # a reboot ends what the station had in memory; it reports again what is open
            self.statuses.clear()

    # -- queries (any thread) --------------------------------------------------------------
    def status(self, connector: int) -> str | None:
        with self._lock:
            s = self.statuses.get(connector)
            return s.status if s else None

    def open_transactions(self) -> list[OpenTransaction]:
        with self._lock:
            return list(self.transactions.values())

    def forget_transaction(self, transaction_id: int) -> None:
        with self._lock:
            self.transactions.pop(transaction_id, None)

    def response_samples(self) -> list[ResponseSample]:
        with self._lock:
            return list(self.responses)

    def pdus_sent(self, station: str, since_ns: int) -> list[StationPdu]:
        """What `station` sent at or after since_ns, oldest first (within the memory)."""
        with self._lock:
            return [p for p in self.station_pdus if p.mono_ns >= since_ns
                    and p.station == station]

    def last_pdu_before(self, station: str, mono_ns: int) -> StationPdu | None:
        with self._lock:
            return next((p for p in reversed(self.station_pdus)
                         if p.mono_ns < mono_ns and p.station == station), None)

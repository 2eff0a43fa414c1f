"""Energy in every transaction: the station's register against the reference meter.

Wherever a transaction runs on a connector with a reference meter, the station's
meterStop - meterStart, and the steps of its Energy.Active.Import.Register values, are
compared with the energy the meter counted over the same window (`energy.deviation`,
`energy.deviation.register`), judged in the case in which the transaction ended.

The window. At the start of each case (the maintenance left the connector idle: no EV, no
current) the bench resets and starts the meter's integrator; after each StopTransaction of
the connector it reads the integrator, and resets it again for the next transaction. So the
reference window runs from an idle moment before the StartTransaction to the
StopTransaction: the station must deliver no energy outside its transactions, so nothing is
missed at the start, and a StartTransaction sent from the offline queue is compared as well
(an inference the measurement's text states). Register steps are compared between the first
and the last register value of the transaction, each paired with an integrator read made as
its frame arrived.

The limit is `energy_tolerance_pct` plus the uncertainty of this comparison, in % of the
reference energy: the station's register step (1 Wh for meterStart/meterStop, the printed
resolution of a register value), the reference meter's resolution
(`reference_energy_resolution_wh`) and the window alignment: the mean power times the delay
from a frame's arrival (its kernel receive stamp) to the integrator read that answered it.
A read can only come late, so the alignment can only make the reference too large at the
window's end (energy counted after the station's value) or too small at its start (a late
first read misses energy the station counted): it widens the limit only on the side it
could explain. A station counting more than a reference read late at the stop counts more
than the reference, however late that read. Below `energy_min_wh` the comparison means
nothing (a 1 Wh register step would be over 10 % of it): the measurement is UNSET, with that
reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from bench.csms.session import MeterValuesReceived, TransactionStarted, TransactionStopped
from bench.csms.stamps import CLOCK
from bench.plugin.context import BenchContext, Case

REGISTER = "Energy.Active.Import.Register"
METER_START_STEP_WH = 1.0  # meterStart and meterStop are integers in Wh (OCPP 1.6 §6.46, §6.50)
READ_DEADLINE_S = 10.0


@dataclass
class Read:
    """One integrator read made because a frame arrived."""

    frame_seq: int
    frame_mono_ns: int
    energy_wh: float | None = None  # since the window opened
    answered_mono_ns: int | None = None
    error: str | None = None

    @property
    def delay_s(self) -> float:
        return 0.0 if self.answered_mono_ns is None else max(
            0.0, (self.answered_mono_ns - self.frame_mono_ns) / 1e9)


@dataclass
class RegisterSample:
    value_wh: float
    resolution_wh: float
    read: Read
    lag_s: float = 0.0  # frame arrival - the value's timestamp (large: sent from the queue)


@dataclass
class Transaction:
    connector: int
    meter_start: float | None
    start_seq: int
    start_mono_ns: int
    window_opened_ns: int | None  # when the integrator was reset before this transaction
    transaction_id: int | None = None
    meter_stop: float | None = None
    stop: Read | None = None
    registers: list[RegisterSample] = field(default_factory=list)
    # the meterValue lists already paired: a resend after a lost answer (OCPP 1.6 §3.7) carries
    # an old register value that a new reference read would mismatch
    seen_meter_values: set[str] = field(default_factory=set)


@dataclass
class Window:
    opened_ns: int | None = None  # issue stamp of the reset; None: no window is open
    transactions: list[Transaction] = field(default_factory=list)


def register_values(meter_values: list[Any]) -> list[tuple[float, float, str]]:
    """(value in Wh, resolution in Wh, context) of each meterValue entry's
    Energy.Active.Import.Register (a left-out measurand is that register, a left-out context
    Sample.Periodic); per-phase values are left out."""
    out = []
    for entry in meter_values if isinstance(meter_values, list) else []:
        for sv in (entry.get("sampledValue") or []) if isinstance(entry, dict) else []:
            if not isinstance(sv, dict) or sv.get("measurand", REGISTER) != REGISTER \
                    or sv.get("phase"):
                continue
            text = str(sv.get("value", "")).strip()
            try:
                value = float(text)
            except ValueError:
                continue
            scale = 1000.0 if str(sv.get("unit", "Wh")) == "kWh" else 1.0
            decimals = len(text.partition(".")[2]) if "." in text else 0
            out.append((value * scale, scale * 10.0 ** -decimals,
                        str(sv.get("context", "Sample.Periodic"))))
            break  # one register value per entry
    return out


class EnergyAudit:
    """Follows the transactions of the metered connectors in the station's session (its
    events) and reads the reference integrator as their frames arrive; the plugin opens and
    closes it per case."""

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx
        self.windows: dict[int, Window] = {}
        self._open: dict[int, Transaction] = {}  # transactionId -> transaction
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._following: Any = None  # the session whose events it gets

    def _follow(self) -> None:
        session = getattr(self.ctx.station, "session", None)
        if session is None or session is self._following:
            return
        session.subscribe(TransactionStarted, self.on_started)
        session.subscribe(MeterValuesReceived, self.on_meter_values)
        session.subscribe(TransactionStopped, self.on_stopped)
        self._following = session

    # -- which connectors ------------------------------------------------------------------
    def metered(self) -> list[int]:
        bench = self.ctx.bench
        if bench is None or self.ctx.station is None or getattr(bench, "broken", None):
            return []
        return sorted(getattr(bench, "meters", {}) or {})

    # -- per case --------------------------------------------------------------------------
    async def open_case(self, case: Case) -> None:
        """Start a reference window on every metered connector (they are idle now)."""
        self._loop = asyncio.get_running_loop()
        self._follow()
        for n in self.metered():
            await self._open_window(n)

    async def _open_window(self, n: int) -> None:
        window = self.windows.setdefault(n, Window())
        window.opened_ns = None
        # stopped first: some meters refuse a reset while integrating (Yokogawa WT)
        await self.ctx.bench.energy_window_stop(n)
        window.opened_ns = await self.ctx.bench.energy_window_start(n)

    async def close_case(self, case: Case) -> None:
        """Wait for the reads, then record the comparisons of the transactions that ended."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=READ_DEADLINE_S)
        ended: list[Transaction] = []
        for window in self.windows.values():
            ended += [t for t in window.transactions if t.stop is not None]
            window.transactions = [t for t in window.transactions if t.stop is None]
        if ended:
            self._measure(case, ended)

    # -- session events (they run in the receive loop, as the frame is answered) -------------
    def on_started(self, event: TransactionStarted) -> None:
        t = event.transaction
        window = self.windows.get(t.connector_id) if isinstance(t.connector_id, int) else None
        if window is None:
            return
        tx = Transaction(t.connector_id, _number(t.meter_start), t.start_seq,  # type: ignore[arg-type]
                         t.mono_ns, window.opened_ns, t.transaction_id)
        window.transactions.append(tx)
        self._open[t.transaction_id] = tx

    def on_meter_values(self, event: MeterValuesReceived) -> None:
        tx = self._open.get(event.transaction_id) if isinstance(event.transaction_id, int) \
            else None
        if tx is None:
            return
        # a MeterValues resent after a lost answer (the same payload) is counted once
        key = json.dumps(event.meter_value, sort_keys=True, default=str)
        if key in tx.seen_meter_values:
            return
        tx.seen_meter_values.add(key)
        samples = register_values(event.meter_value)
        if samples:
            read = self._read(tx.connector, event.seq, event.mono_ns)
            value, resolution, _ = samples[-1]
            tx.registers.append(RegisterSample(value, resolution, read,
                                               _lag_s(event.mono_ns, event.meter_value[-1])))

    def on_stopped(self, event: TransactionStopped) -> None:
        p = event.payload
        tid = p.get("transactionId")
        tx = self._open.pop(tid, None) if isinstance(tid, int) else None
        if tx is None:
            return
        tx.meter_stop = _number(p.get("meterStop"))
        tx.stop = self._read(tx.connector, event.seq, event.mono_ns, then_reopen=True)
        # only the register read at the stop (Transaction.End) pairs with the stop read;
        # the other transactionData entries repeat values sent (and paired) before
        ends = [v for v in register_values(p.get("transactionData") or [])
                if v[2] == "Transaction.End"]
        if ends:
            value, resolution, _ = ends[-1]
            tx.registers.append(RegisterSample(value, resolution, tx.stop))

    def _read(self, n: int, seq: int, mono: int, then_reopen: bool = False) -> Read:
        read = Read(seq, mono)
        loop = self._loop
        if loop is None:
            read.error = "no bench loop"
            return read

        async def do() -> None:
            try:
                read.energy_wh = await self.ctx.bench.energy_window_read(n)
                read.answered_mono_ns = time.monotonic_ns()
            except Exception as exc:  # reported by the measurement as not judged
                read.error = f"{type(exc).__name__}: {exc}"
            if then_reopen:
                try:
                    await self._open_window(n)  # for the next transaction of the case
                except Exception as exc:
                    self.windows[n].opened_ns = None
                    read.error = read.error or f"window not reopened: {exc}"

        def spawn() -> None:
            task = loop.create_task(do())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(spawn)
        return read

    # -- the comparisons ----------------------------------------------------------------------
    def _measure(self, case: Case, ended: list[Transaction]) -> None:
        totals = [self._totals(t) for t in ended]
        registers = [self._register(t) for t in ended]
        stations = [c.station_wh for c in totals if c.station_wh is not None]
        references = [c.reference_wh for c in totals if c.reference_wh is not None]
        evidence = [s for t in ended for s in (t.start_seq, t.stop.frame_seq if t.stop else 0)
                    if s]
        if stations:
            case.measure("energy.station_wh", series=stations, unit="Wh", evidence=evidence,
                         description="meterStop - meterStart of each transaction that ended")
        if references:
            case.measure("energy.reference_wh", series=references, unit="Wh", evidence=evidence,
                         description="reference meter integrator over the same window")
        self._record(case, "energy.deviation", totals, evidence,
                     "|(meterStop - meterStart) - reference| / reference, per transaction; "
                     "reference window: from the integrator reset while the connector was "
                     "idle (case start, or the previous transaction's end) to the "
                     "StopTransaction (inference: no energy flows outside a transaction, so "
                     "any that did counts against the station)")
        if any(r.judged or r.reason != _NO_REGISTER for r in registers):
            self._record(case, "energy.deviation.register", registers, evidence,
                         "|step of Energy.Active.Import.Register - reference| / reference "
                         "between the transaction's first and last register value")

    def _record(self, case: Case, name: str, comparisons: list[Comparison],
                evidence: list[int], what: str) -> None:
        judged = [c for c in comparisons if c.judged]
        skipped = [f"transaction {c.transaction}: {c.reason}" for c in comparisons
                   if not c.judged]
        notes = "; ".join(c.note for c in judged if c.note)
        tail = (f"; not judged: {'; '.join(skipped)}" if skipped else "") \
            + (f"; {notes}" if notes else "")
        if not judged:
            case.measure(name, unit="%", evidence=evidence, description=what + tail,
                         extra_settings={"energy_uncertainty_pct": 0.0},
                         unset_reason="; ".join(skipped) or "no transaction")
            return
        worst = max(judged, key=lambda c: c.uncertainty_pct)
        case.measure(name, series=[c.deviation_pct for c in judged], unit="%",
                     evidence=evidence,
                     description=f"{what}; limit: energy_tolerance_pct + {worst.explain}{tail}",
                     extra_settings={"energy_uncertainty_pct": round(worst.uncertainty_pct, 4)})

    def _resolution(self) -> float:
        return float(self.ctx.settings.get("reference_energy_resolution_wh", 0.0))

    def _min_wh(self) -> float:
        return float(self.ctx.settings.get("energy_min_wh", 0.0))

    def _totals(self, t: Transaction) -> Comparison:
        c = Comparison(t.transaction_id)
        stop = t.stop
        assert stop is not None
        if t.meter_start is None or t.meter_stop is None:
            return c.skip("the station sent no meterStart or meterStop")
        c.station_wh = t.meter_stop - t.meter_start
        if t.window_opened_ns is None or t.window_opened_ns > t.start_mono_ns:
            return c.skip("the transaction started before the reference window opened")
        if stop.energy_wh is None:
            return c.skip("the reference meter was not read: " + (
                stop.error or f"no answer within {READ_DEADLINE_S:g} s of the case's end"))
        c.reference_wh = stop.energy_wh
        seconds = max(1e-3, (stop.frame_mono_ns - t.start_mono_ns) / 1e9)
        # the window opened while the connector was idle: only the stop read can be late
        return c.judge(c.station_wh, c.reference_wh, METER_START_STEP_WH, self._resolution(),
                       c.reference_wh / seconds * 3600.0, 0.0, stop.delay_s, self._min_wh(),
                       "meterStart/meterStop step")

    def _register(self, t: Transaction) -> Comparison:
        c = Comparison(t.transaction_id)
        # a value sent from the offline queue was read long before its frame arrived: it
        # cannot be paired with a read of the meter (the stop's value can: no energy after it)
        late_s = float(self.ctx.settings.get("max_time_deviation_s", 4)) + 1.0
        pairs = [r for r in t.registers if r.read.energy_wh is not None
                 and (r.read is t.stop or r.lag_s <= late_s)]
        if len(pairs) < 2:
            queued = sum(r.lag_s > late_s for r in t.registers)
            return c.skip(_NO_REGISTER + (f" ({queued} sent from the offline queue, more than "
                                          f"{late_s:g} s after their timestamp)" if queued
                                          else ""))
        first, last = pairs[0], pairs[-1]
        if t.window_opened_ns is None or t.window_opened_ns > t.start_mono_ns:
            return c.skip("the transaction started before the reference window opened")
        reference = float(last.read.energy_wh) - float(first.read.energy_wh)  # type: ignore[arg-type]
        seconds = max(1e-3, (last.read.frame_mono_ns - first.read.frame_mono_ns) / 1e9)
        return c.judge(last.value_wh - first.value_wh, reference,
                       max(first.resolution_wh, last.resolution_wh), self._resolution(),
                       reference / seconds * 3600.0, first.read.delay_s, last.read.delay_s,
                       self._min_wh(), "register step")


_NO_REGISTER = "fewer than two Energy.Active.Import.Register values in the transaction"


@dataclass
class Comparison:
    """One transaction's station energy against the reference, with its uncertainty."""

    transaction: int | None
    station_wh: float | None = None
    reference_wh: float | None = None
    deviation_pct: float = math.nan
    uncertainty_pct: float = 0.0
    explain: str = ""
    reason: str = ""
    note: str = ""

    @property
    def judged(self) -> bool:
        return not self.reason

    def skip(self, reason: str) -> Comparison:
        self.reason = reason
        return self

    def judge(self, station_wh: float, reference_wh: float, step_wh: float, ref_res_wh: float,
              power_w: float, start_late_s: float, end_late_s: float, min_wh: float,
              step_name: str) -> Comparison:
        """start_late_s / end_late_s: how late the reference reads at the window's start and
        end came after the station's values (their frames' arrival)."""
        if reference_wh < min_wh:
            return self.skip(f"the reference meter counted {reference_wh:.2f} Wh, below "
                             f"energy_min_wh = {min_wh:g} Wh: the comparison means nothing "
                             f"(the {step_name} is {step_wh:g} Wh)")
        # a late start read leaves out energy the station counted (station above reference);
        # a late end read adds energy after the station's value (station below reference)
        above = station_wh >= reference_wh
        late_s = start_late_s if above else end_late_s
        align_wh = power_w * late_s / 3600.0
        uncertainty_wh = step_wh + ref_res_wh + align_wh
        self.deviation_pct = abs(station_wh - reference_wh) / reference_wh * 100.0
        self.uncertainty_pct = uncertainty_wh / reference_wh * 100.0
        which = "start" if above else "end"
        self.explain = (f"uncertainty {self.uncertainty_pct:.2f} % = ({step_name} "
                        f"{step_wh:g} Wh + reference resolution {ref_res_wh:g} Wh + window "
                        f"alignment {align_wh:.3f} Wh ({power_w / 1000:.1f} kW x "
                        f"{late_s * 1000:.1f} ms, the {which} read's delay: the side that could "
                        f"explain a station {'above' if above else 'below'} the reference))"
                        f" / {reference_wh:.2f} Wh")
        self.note = (f"transaction {self.transaction}: station {station_wh:.2f} Wh, "
                     f"reference {reference_wh:.2f} Wh")
        return self


def _lag_s(arrival_mono_ns: int, entry: Any) -> float:
    """Seconds from a meterValue's timestamp to its frame's arrival (0 when unreadable)."""
    arrived = dt.datetime.fromtimestamp(CLOCK.to_realtime(arrival_mono_ns) / 1e9, dt.UTC)
    try:
        stamped = dt.datetime.fromisoformat(str(entry.get("timestamp")).replace("Z", "+00:00"))
        return (arrived - stamped).total_seconds()
    except (AttributeError, TypeError, ValueError):
        return 0.0


def _number(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


"""The objects a case works with: the run-wide BenchContext and the per-case Case."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.measure import Measurement
from bench.plugin.limits import LimitMap
from bench.plugin.loop import BenchLoop
from bench.plugin.plan import Plan
from bench.plugin.verdicts import StationNonConformance
from bench.record import RunRecord, Verdict


@dataclass
class RunSeries:
    """A run-wide series, recorded once at the end of the run."""

    unit: str
    description: str = ""
    values: list[float] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)
    index: list[Any] = field(default_factory=list)  # the case of each sample (None: outside)
    attempts: list[int | None] = field(default_factory=list)  # the attempt of that case
    evidence_of: list[list[int]] = field(default_factory=list)  # evidence of each sample


@dataclass
class BenchContext:
    """Everything a run shares; built by `bench run` (or a test) and handed to the plugin."""

    rig: Any  # bench.config.rig.Rig
    plan: Plan
    settings: dict[str, Any]
    record: RunRecord
    loop: BenchLoop
    limits: LimitMap
    settings_source: str = ""
    csms: Any = None
    station: Any = None  # the CSMS session of the station under test (its state: .session)
    bench: Any = None  # the verb facade
    station_config: list[dict[str, Any]] | None = None  # GetConfiguration at start
    boot_error: str | None = None  # why the station never came up (every case BLOCKED)
    outcomes: dict[str, Verdict] = field(default_factory=dict)
    run_series: dict[str, RunSeries] = field(default_factory=dict)
    progress: Callable[[str, str], None] | None = None  # (case, step) -> show it
    maintenance: Callable[..., Any] | None = None  # overrides the default between-case steps
    _files: Any = None  # bench.files.FileService, started by the first case that needs it
    _pki: Any = None  # bench.pki.BenchPki, made by the first case that needs it

    def build_measurement(self, name: str, unit: str | None, value: float | None = None,
                          series: list[float] | None = None, evidence: list[int] | None = None,
                          index: list[Any] | None = None,
                          description: str | None = None,
                          extra_settings: dict[str, Any] | None = None,
                          attempts: list[int | None] | None = None) -> Measurement:
        """extra_settings: values only this measurement's limit uses (e.g. the uncertainty
        of one energy comparison), next to the run's settings."""
        spec = self.limits.spec(name)
        if unit is None:
            if spec is None:
                raise ValueError(f"measurement {name!r}: no unit given and no entry in "
                                 f"{self.limits.path.name}")
            unit = spec.unit
        return Measurement(
            name=name, unit=unit, value=value, series=list(series or []),
            limits=self.limits.limits(name, {**self.settings, **(extra_settings or {})},
                                      self.settings_source),
            description=description if description is not None else (spec.description
                                                                      if spec else ""),
            evidence=list(evidence or []), series_index=list(index or []),
            series_attempt=list(attempts or []),
        )

    def collect(self, name: str, value: float, unit: str | None = None,
                evidence: int | list[int] | None = None, index: Any = None,
                description: str = "", attempt: int | None = None) -> None:
        """Add one sample to a run-wide series (recorded at the end of the run); index: the
        case it was taken in, attempt: which attempt of that case."""
        if name not in self.run_series:
            spec = self.limits.spec(name)
            self.run_series[name] = RunSeries(unit or (spec.unit if spec else "s"),
                                              description or (spec.description if spec else ""))
        s = self.run_series[name]
        s.values.append(float(value))
        mine = [evidence] if isinstance(evidence, int) else list(evidence or [])
        s.evidence.extend(mine)
        s.evidence_of.append(mine)
        s.index.append(index)
        s.attempts.append(attempt)

    def files(self, protocols: list[str] | tuple[str, ...]) -> Any:
        """The bench's file servers (bench.files.FileService), with `protocols` running; made
        on first use under <run dir>/files/, stopped by close_files() at the end of the run."""
        if self._files is None:
            from bench.files import FileService

            self._files = FileService(self.record.path / "files", self.record, self.rig.files)
        self._files.start(list(protocols))
        return self._files

    def pki(self) -> Any:
        """The run's PKI (bench.pki.BenchPki): made on first use; its public certificates
        are the snapshot `pki`, its private keys stay in <run dir>/private/."""
        if self._pki is None:
            from bench.pki import BenchPki
            from bench.plugin.stationurl import WILDCARDS, interface_addresses

            host = self.rig.csms.host  # listening on all: every address a station may use
            hosts = [*interface_addresses(), "127.0.0.1"] if host in WILDCARDS else [host]
            self._pki = BenchPki.create(self.record.path, list(dict.fromkeys(hosts)))
            self.record.snapshot("pki", self._pki.public_snapshot())
        return self._pki

    def close_files(self) -> None:
        if self._files is not None:
            self._files.stop()
            self._files = None

    def run(self, coro: Any, timeout: float | None = None, what: str = "") -> Any:
        return self.loop.run(coro, timeout, what)


class Case:
    """What a test case gets as `case`: its identity, settings, steps, checks, measurements."""

    def __init__(self, ctx: BenchContext, case_id: str, name: str,
                 options: dict[str, Any]) -> None:
        self.ctx = ctx
        self.id = case_id
        self.name = name
        self.options = options
        self.attempt = ctx.record.current_attempt  # set by the plugin before the case starts
        self.checks: list[str] = []
        self.unverified: list[str] = []  # preconditions the rig cannot verify (verdict text)
        self.measurements: list[Measurement] = []
        self.failed_measurements: list[Measurement] = []
        self.current_step: str | None = None
        self.started_mono_ns = time.monotonic_ns()
        self.config_applied: dict[str, str] = {}  # key -> value set for this case
        self.config_original: dict[str, str | None] = {}  # key -> value before (None: unknown)
        # station state the case left behind that the maintenance must undo (a reservation, a
        # local list): name -> coroutine function, or (function, deadline in s) for an undo
        # that waits longer than one CALL; run once by the maintenance
        self.undo: dict[str, Any] = {}

    # -- what cases use ----------------------------------------------------------------------
    @property
    def station(self) -> Any:
        return self.ctx.station

    @property
    def bench(self) -> Any:
        return self.ctx.bench

    @property
    def rig(self) -> Any:
        return self.ctx.rig

    @property
    def connector(self) -> int:
        return int(self.ctx.settings["connector"])

    @property
    def timeout(self) -> float:
        """How long to wait for a station message (the triggered-function timeout)."""
        return float(self.ctx.settings["message_timeout_s"])

    def setting(self, name: str) -> Any:
        try:
            return self.ctx.settings[name]
        except KeyError:
            raise KeyError(f"{self.id}: no setting {name!r} (rig [pics] or plan settings; "
                           f"known: {', '.join(sorted(self.ctx.settings))})") from None

    def card(self, tag: str | None = None) -> Any:
        return self.ctx.rig.card(tag or self.ctx.settings["card"])

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        """A named step: recorded, shown live, and named in the verdict if it fails."""
        self.current_step = text
        self.ctx.record.event("step", text, case=self.id)
        if self.ctx.progress:
            self.ctx.progress(self.id, text)
        yield
        self.current_step = None

    def waiting(self, what: str, seconds: float) -> contextlib.AbstractContextManager[None]:
        """A wait of at most `seconds` for `what`: the live progress shows it while it lasts
        (if it lasts: bench.plugin.progress)."""
        from bench.plugin.progress import waiting

        return waiting(self.ctx.progress, what, seconds, self.id)

    def check(self, ok: bool, expected: str, seen: str, quiet: bool = False,
              at: int | None = None) -> None:
        """Fail the case (FAIL) unless ok; the message says what was expected and seen.
        quiet: a routine check (schema) that is listed only when it fails; at: the monotonic
        stamp of what was judged (a message, an answer), so that a later symptom cannot head
        the verdict (verdicts.first_failure)."""
        if not ok:
            self.checks.append(f"FAIL: expected {expected}; station: {seen}")
            raise StationNonConformance(f"expected {expected}; the station {seen}",
                                        evidence_ns=at)
        if not quiet:
            self.checks.append(f"ok: {expected}")

    def unverifiable(self, precondition: str, why: str) -> None:
        """A physical precondition the bench cannot verify on this rig: the verdict's text
        names it, so that a PASS (or FAIL) is read as resting on it."""
        text = f"{precondition} ({why})"
        if text not in self.unverified:
            self.unverified.append(text)
            self.checks.append(f"not verified: {text}")

    def passed(self, text: str) -> None:
        """Note a check that passed (shown in the report's checks list)."""
        self.checks.append(f"ok: {text}")

    def measure(self, name: str, value: float | None = None, *,
                series: list[float] | None = None, unit: str | None = None,
                evidence: list[int] | None = None, index: list[Any] | None = None,
                description: str | None = None, extra_settings: dict[str, Any] | None = None,
                unset_reason: str = "", scope: str | None = None) -> Measurement:
        """Record a measurement; limits come from testplans/limits.toml. A failed limit fails
        the case at its end (the case goes on, so every measurement is taken).
        extra_settings: values only this measurement's limit uses; unset_reason: why it is
        not judged (outcome UNSET, never a silent PASS); scope: see judge_case_samples."""
        m = self.ctx.build_measurement(name, unit, value, series, evidence, index, description,
                                       extra_settings)
        m.unset_reason = unset_reason
        m.required = name in self.declared
        self.ctx.record.measurement({**m.as_dict(), "case": self.id,
                                     **({"scope": scope} if scope else {})})
        self.measurements.append(m)
        if str(m.outcome) == "FAIL":
            self.failed_measurements.append(m)
            self.checks.append(f"FAIL: measurement {describe_measurement(m)}")
        elif m.unset_reason:
            self.checks.append(f"not judged: measurement {describe_measurement(m)}")
        elif m.limits is not None:
            self.checks.append(f"ok: measurement {describe_measurement(m)}")
        return m

    @property
    def declared(self) -> tuple[str, ...]:
        """What the case must measure (marker `measures=`): left unset, it fails the case."""
        return tuple(self.options.get("measures", ()))

    def missing_declared(self) -> list[str]:
        taken = {m.name for m in self.measurements}
        return [name for name in self.declared if name not in taken]

    def fail_missing_declared(self) -> None:
        """Record each declared measurement the case did not take: outcome FAIL."""
        for name in self.missing_declared():
            spec = self.ctx.limits.spec(name)
            self.measure(name, unit=spec.unit if spec else "",
                         description="declared by the case (octt measures=) but not measured")

    def collect(self, name: str, value: float, unit: str | None = None,
                evidence: int | list[int] | None = None) -> None:
        """One sample of a run-wide series (e.g. every boot time, every status latency); the
        samples of this case are also judged as this case's own at its end."""
        self.ctx.collect(name, value, unit, evidence, index=self.id, attempt=self.attempt)

    def log(self, text: str, **detail: Any) -> None:
        self.ctx.record.event("log", text, case=self.id, **detail)


def describe_measurement(m: Measurement) -> str:
    return m.describe()

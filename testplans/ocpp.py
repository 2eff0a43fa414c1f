"""Helpers that make a case read like its OCTT page: expect a message (schema checked), expect
several in any order (OCTT's allowed swaps), check a CALL's answer, read configuration keys.

Order rules: `after=` is what a message must not precede: a monotonic stamp, or the message
it must follow (then a timeout says "it came 2.9 s before the Authorize"). Steps that must
follow each other pass the previous message; steps OCTT lets swap share one `after`
(`expect_any_order`). `trigger=` names a stamp for that text ("the plug-in").
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Mapping
from typing import Any

from bench.csms.errors import ExpectTimeout
from bench.csms.matching import describe_pattern, matches
from bench.measure.resolution import timestamp_resolution_s
from bench.plugin import Case
from testplans.timestamps import check_declared_milliseconds

After = int | Any | None  # a monotonic stamp (ns), a received message, or None (any time)


def stamp_of(after: After) -> int | None:
    return after if after is None or isinstance(after, int) else int(after.mono_ns)


def describe_after(after: After, trigger: str | None = None) -> str:
    if trigger:
        return trigger
    if after is not None and not isinstance(after, int):
        return f"the {after.action} (seq {after.seq})"
    return "the step's start"


def came_before(case: Case, action: str, match: Mapping[str, Any] | None,
                after: int) -> Any | None:
    """The latest matching `action` that arrived before `after` and is still unconsumed."""
    early = [m for m in case.station.received(action)
             if m.mono_ns < after and matches(m.payload, match)]
    return early[-1] if early else None


async def expect(case: Case, action: str, match: Mapping[str, Any] | None = None, *,
                 after: After = None, within: float | None = None,
                 trigger: str | None = None) -> Any:
    """The station's next matching `action` CALL; its payload must be schema-valid. When
    none comes but one came before `after`, the failure says so (wrong order, too early)."""
    after_ns = stamp_of(after)
    try:
        with case.waiting(f"{action} ({describe_pattern(match)})", within or case.timeout):
            msg = await case.station.expect(action, match=match, within=within or case.timeout,
                                            after=after_ns)
    except ExpectTimeout as exc:
        early = came_before(case, action, match, after_ns) if after_ns is not None else None
        if early is None:
            raise
        what = describe_after(after, trigger)
        raise ExpectTimeout(
            f"expected {action} ({describe_pattern(match)}) after {what}; the station sent it "
            f"{(after_ns - early.mono_ns) / 1e9:.3f} s before {what} (seq {early.seq}) and none "
            f"after it within {within or case.timeout:g} s ({exc})") from None
    case.check(msg.schema == "ok", f"{action} to be valid against the OCPP 1.6 schema",
               f"sent an invalid one ({msg.schema}), frame seq {msg.seq}", quiet=True,
               at=msg.mono_ns)
    check_declared_milliseconds(case, msg)
    return msg


async def expect_any_order(case: Case, *wanted: tuple[str, Mapping[str, Any] | None],
                           after: After = None, within: float | None = None,
                           trigger: str | None = None) -> list[Any]:
    """Every (action, match) after `after`, in whatever order they come; one shared deadline."""
    deadline = time.monotonic() + (within or case.timeout)
    out = []
    for action, match in wanted:
        left = max(0.05, deadline - time.monotonic())
        out.append(await expect(case, action, match, after=after, within=left,
                                trigger=trigger))
    return out


async def expect_status(case: Case, connector: int, status: str, *, after: After,
                        within: float | None = None, trigger: str | None = None) -> Any:
    """The next StatusNotification of `connector`, which must carry `status`."""
    msg = await expect(case, "StatusNotification", {"connectorId": connector}, after=after,
                       within=within, trigger=trigger)
    got = msg.payload.get("status")
    case.check(got == status, f"StatusNotification(connector {connector}, {status})",
               f"sent status {got} (errorCode {msg.payload.get('errorCode')}, seq {msg.seq})",
               at=msg.mono_ns)
    return msg


def check_answer(case: Case, res: Any, expected: str | tuple[str, ...], what: str,
                 field: str = "status") -> None:
    """The CALLRESULT of a bench CALL must carry `field` in `expected` (no CALLERROR)."""
    allowed = (expected,) if isinstance(expected, str) else expected
    if res.error is not None:
        seen = f"answered CALLERROR {res.error.code} {res.error.description!r}"
    else:
        seen = f"answered {field}={res.get(field)!r}"
    case.check(res.error is None and res.get(field) in allowed,
               f"{what}.conf {field} {' or '.join(allowed)}", f"{seen} (seq {res.frame_seqs[1]})",
               at=res.answered_mono_ns)


async def get_config(case: Case, *keys: str) -> dict[str, str | None]:
    """Values of configuration keys (GetConfiguration); an unknown key fails the case."""
    res = await case.station.call("GetConfiguration", {"key": list(keys)})
    check_answer_ok(case, res, "GetConfiguration")
    values = {e.get("key"): e.get("value") for e in res.get("configurationKey", []) or []}
    unknown = res.get("unknownKey", []) or []
    case.check(not unknown, f"configuration key(s) {', '.join(keys)} to exist",
               f"reported {', '.join(unknown)} in unknownKey")
    return values


def check_answer_ok(case: Case, res: Any, what: str) -> None:
    case.check(res.error is None, f"{what} to be answered with a CALLRESULT",
               f"answered CALLERROR {res.error.code if res.error else ''}")


def is_true(value: str | None) -> bool:
    return str(value).strip().lower() == "true"


def seconds(ns: int) -> float:
    return ns / 1e9


def station_time(text: str) -> dt.datetime | None:
    """An OCPP timestamp as an aware datetime (None when unreadable)."""
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def bench_utc_at(mono_ns: int) -> dt.datetime:
    """Bench UTC when the monotonic clock read mono_ns (for clock-offset measurements)."""
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=(time.monotonic_ns() - mono_ns) / 1e9)


def clock_offset_s(case: Case, msg: Any, ts_field: str = "timestamp") -> float | None:
    """Station clock minus bench clock at the message's arrival (returned as measured).

    Collected run-wide as `clock.offset`: its size less the timestamp's resolution, the least
    the station's clock can be off. A station writing whole seconds (OCPP-J lets it) stamps
    a reading up to 1 s from the time it writes, whether it truncates or rounds; judged on the
    raw difference it would fail for its resolution, not for its clock."""
    text = msg.payload.get(ts_field, "")
    ts = station_time(text)
    if ts is None:
        return None
    offset = (ts - bench_utc_at(msg.mono_ns)).total_seconds()
    resolution = timestamp_resolution_s(text) or 0.0
    case.collect("clock.offset", max(0.0, abs(offset) - resolution), evidence=msg.seq)
    return offset


def intervals_s(msgs: list[Any]) -> list[float]:
    """Seconds between consecutive messages (socket stamps)."""
    return [(b.mono_ns - a.mono_ns) / 1e9 for a, b in itertools.pairwise(msgs)]


def measure_periods(case: Case, name: str, msgs: list[Any], nominal_s: float) -> None:
    """The periods between `msgs` as series `name`, and their distance to `nominal_s` as
    `name`_error (both have limits in limits.toml)."""
    periods = intervals_s(msgs)
    evidence = [m.seq for m in msgs]
    case.measure(name, series=periods, evidence=evidence)
    case.measure(f"{name}_error", series=[abs(p - nominal_s) for p in periods],
                 evidence=evidence)


def utc_timestamp() -> str:
    """Bench UTC as OCPP writes it (for responders a case overrides)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


async def collect_for(case: Case, action: str, match: Mapping[str, Any] | None, *,
                      after: int, seconds: float) -> list[Any]:
    """Every matching `action` CALL that arrives within `seconds` (schema checked)."""
    deadline = time.monotonic() + seconds
    out: list[Any] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            with case.waiting(f"every {action} ({describe_pattern(match)}) for {seconds:g} s",
                              left):
                msg = await case.station.expect(action, match=match, within=left, after=after)
        except TimeoutError:
            break
        case.check(msg.schema == "ok", f"{action} to be valid against the OCPP 1.6 schema",
                   f"sent an invalid one ({msg.schema}), frame seq {msg.seq}", quiet=True)
        check_declared_milliseconds(case, msg)
        out.append(msg)
        after = msg.mono_ns + 1
    return out


def only_context(context: str) -> Any:
    """A match predicate for MeterValues.meterValue: every sampled value has this context
    (an omitted context is Sample.Periodic)."""
    def check(meter_value: Any) -> bool:
        values = [sv for entry in meter_value for sv in entry.get("sampledValue", [])]
        return bool(values) and all(sv.get("context", "Sample.Periodic") == context
                                    for sv in values)

    check.__name__ = f"only_{context}"
    return check


def triggered(case: Case, name: str, call: Any, msg: Any) -> float:
    """Triggered-function time: the bench's CALL sent -> the station message that proves the
    function happened (e.g. Reset -> BootNotification); recorded per case and run-wide."""
    seconds = (msg.mono_ns - call.sent_mono_ns) / 1e9
    case.measure(name, seconds, evidence=[call.frame_seqs[0], msg.seq])
    case.collect(name, seconds, evidence=[call.frame_seqs[0], msg.seq])
    return seconds

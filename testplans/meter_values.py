"""Steps the MeterValues cases share (TC_070 sampled, TC_071 clock-aligned): which measurands
the station is configured to send, and the transaction's MeterValues one interval apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.plugin import Case
from testplans.ocpp import expect, get_config
from testplans.states import Session

DEFAULT_MEASURAND = "Energy.Active.Import.Register"  # what an empty list or a left-out field means


async def configured_measurands(case: Case, key: str) -> list[str]:
    """GetConfiguration(key) (MeterValuesSampledData or MeterValuesAlignedData) as a list."""
    configured = (await get_config(case, key))[key]
    return [m.strip() for m in (configured or "").split(",") if m.strip()] \
        or [DEFAULT_MEASURAND]


async def transaction_meter_values(case: Case, session: Session, count: int, interval: float,
                                   check: Callable[[Any], None]) -> list[Any]:
    """The next `count` MeterValues of the session's transaction, each within two intervals of
    the one before; `check` judges each as it arrives."""
    samples, after = [], session.start.mono_ns
    for _ in range(count):
        mv = await expect(case, "MeterValues",
                          {"connectorId": session.connector,
                           "transactionId": session.transaction_id},
                          after=after, within=2 * interval + case.timeout)
        check(mv)
        samples.append(mv)
        after = mv.mono_ns + 1
    return samples


def sampled_values(mv: Any) -> list[dict[str, Any]]:
    """Every sampledValue of a MeterValues, across its meterValue entries."""
    return [sv for entry in mv.payload.get("meterValue", []) for sv in entry["sampledValue"]]


def check_measurands(case: Case, mv: Any, values: list[dict[str, Any]],
                     wanted: list[str]) -> None:
    present = {sv.get("measurand", DEFAULT_MEASURAND) for sv in values}
    missing = [m for m in wanted if m not in present]
    case.check(not missing, f"every configured measurand ({', '.join(wanted)})",
               f"left out {', '.join(missing)} (seq {mv.seq})")

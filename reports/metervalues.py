"""MeterValues as the station reported them: sample times, contexts and energy registers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports.frames import CALL, parse_raw
from reports.timebase import parse_utc

ENERGY = "Energy.Active.Import.Register"


@dataclass(slots=True)
class Sample:
    connector: int
    arrival_mono_ns: int
    station_time: Any  # datetime | None: the station's own clock
    context: str
    energy_wh: float | None
    frame_seq: int
    station: str = ""  # the charge point identity (bench serve may record several)
    transaction_id: Any = None  # the MeterValues.req transactionId, None outside a transaction


def samples(frames: list[dict[str, Any]]) -> list[Sample]:
    """One Sample per meterValue entry of every MeterValues CALL the station sent.

    StopTransaction.transactionData is left out: it repeats samples already sent.
    """
    out: list[Sample] = []
    for f in frames:
        if (f.get("action") != "MeterValues" or f.get("msg_type") != CALL
                or f.get("direction") != "in"):
            continue
        msg = parse_raw(f.get("raw", ""))
        payload = msg[3] if msg and len(msg) > 3 and isinstance(msg[3], dict) else None
        if payload is None:
            continue
        connector = payload.get("connectorId")
        transaction = payload.get("transactionId")
        for mv in payload.get("meterValue") or []:
            if not isinstance(mv, dict):
                continue
            svs = [sv for sv in mv.get("sampledValue") or [] if isinstance(sv, dict)]
            context = str(svs[0].get("context") or "Sample.Periodic") if svs else ""
            out.append(Sample(
                connector=connector if isinstance(connector, int) else -1,
                arrival_mono_ns=int(f["mono_ns"]), station_time=parse_utc(mv.get("timestamp")),
                context=context, energy_wh=_energy_wh(svs), frame_seq=int(f.get("seq", 0)),
                station=str(f.get("station") or ""),
                transaction_id=transaction if isinstance(transaction, int | str) else None,
            ))
    return out


def _energy_wh(svs: list[dict[str, Any]]) -> float | None:
    for sv in svs:
        if (sv.get("measurand") or ENERGY) != ENERGY or sv.get("phase"):
            continue
        try:
            value = float(sv.get("value"))
        except (TypeError, ValueError):
            continue
        return value * 1000 if str(sv.get("unit") or "Wh") == "kWh" else value
    return None

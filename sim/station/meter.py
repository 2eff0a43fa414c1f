"""MeterValues content from the physical model: the station's internal meter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# measurand -> (model attribute, unit, format)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "Energy.Active.Import.Register": ("energy_wh", "Wh", "{:.1f}"),
    "Voltage": ("voltage_v", "V", "{:.1f}"),
    "Current.Import": ("current_a", "A", "{:.2f}"),
    "Current.Offered": ("offered_current_a", "A", "{:.2f}"),
    "Power.Active.Import": ("power_w", "W", "{:.1f}"),
    "Power.Offered": ("", "W", "{:.1f}"),
    "SoC": ("soc_pct", "Percent", "{:.0f}"),
}


def iso_utc(at: datetime | None = None) -> str:
    """UTC timestamp with milliseconds, as the SmartDC sends them."""
    at = at or datetime.now(UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def whole_second_timestamps(action: str, payload: Any) -> Any:
    """The payload with every `timestamp` cut to whole seconds ("...T12:00:00Z"): fault
    timestamps_without_milliseconds (a Link rewrite, so queued messages get it too)."""
    if isinstance(payload, dict):
        return {k: (_whole_seconds(v) if k == "timestamp" and isinstance(v, str)
                    else whole_second_timestamps(action, v)) for k, v in payload.items()}
    if isinstance(payload, list):
        return [whole_second_timestamps(action, v) for v in payload]
    return payload


def _whole_seconds(text: str) -> str:
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    zone = rest.lstrip("0123456789")
    return head + zone


def measurand_list(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def sampled_values(phys: Any, measurands: list[str], context: str,
                   energy_gain: float = 1.0) -> list[dict[str, str]]:
    """One sampledValue per configured measurand the model can give (SoC only if the EV has one).
    energy_gain scales the energy register (1.0: exact; fault energy_register_high)."""
    out = []
    for name in measurands or ["Energy.Active.Import.Register"]:
        attr, unit, fmt = _SOURCES.get(name, ("", "", ""))
        if name == "Power.Offered":
            value = getattr(phys, "offered_current_a", 0.0) * getattr(phys, "target_voltage_v", 0.0)
        elif not attr or not hasattr(phys, attr):
            continue
        else:
            value = float(getattr(phys, attr)) * (energy_gain if attr == "energy_wh" else 1.0)
        item = {"value": fmt.format(value), "context": context, "format": "Raw",
                "measurand": name, "unit": unit}
        if name == "SoC":
            item["location"] = "EV"  # the one EV-located value a DC charger may report
        out.append(item)
    return out


def meter_value(phys: Any, measurands: list[str], context: str,
                at: datetime | None = None, energy_gain: float = 1.0) -> dict[str, Any]:
    return {"timestamp": iso_utc(at),
            "sampledValue": sampled_values(phys, measurands, context, energy_gain)}

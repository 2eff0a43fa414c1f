"""Measurement limits from data: testplans/limits.toml maps a measurement name to bounds
written as expressions over the run's settings (the rig's PICS, as shortened by the plan on
the simulated rig), e.g. `high = "meter_value_sample_interval_s + max_time_deviation_s"`.
Test code names its measurement; it never holds a limit.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Limits

LIMITS_FILE = Path(__file__).resolve().parents[2] / "testplans" / "limits.toml"
_TOKEN = re.compile(r"\s*([+-])?\s*([A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?)\s*")
_STATS = ("max", "min", "median", "p95", "mean")


class LimitError(ValueError):
    """A limit that cannot be evaluated; names the file, the measurement and the key."""


@dataclass(frozen=True)
class LimitSpec:
    name: str
    unit: str
    stat: str = "max"
    low: str | float | None = None
    high: str | float | None = None
    scale: float = 1.0  # e.g. 1000 when the PICS value is in s and the measurement in ms
    description: str = ""


def evaluate(expr: str | float | int, settings: dict[str, Any], where: str) -> float:
    """`a + b - 1.5` over settings; numbers and setting names only (no eval)."""
    if isinstance(expr, int | float) and not isinstance(expr, bool):
        return float(expr)
    text = str(expr)
    total, pos, used = 0.0, 0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise LimitError(f"{where}: cannot read {text!r} at {text[pos:]!r}: use setting "
                             "names, numbers, + and -")
        sign, tok = m.group(1), m.group(2)
        if used and not sign:
            raise LimitError(f"{where}: {text!r}: missing + or - before {tok!r}")
        if tok[0].isdigit():
            value = float(tok)
        else:
            if tok not in settings:
                raise LimitError(f"{where}: {tok!r} is not a PICS key or setting of this run "
                                 f"(known: {', '.join(sorted(settings))})")
            try:
                value = float(settings[tok])
            except (TypeError, ValueError):
                raise LimitError(f"{where}: {tok} = {settings[tok]!r} is not a number") from None
        total += -value if sign == "-" else value
        pos, used = m.end(), used + 1
    if not used:
        raise LimitError(f"{where}: empty expression")
    return total


class LimitMap:
    def __init__(self, specs: dict[str, LimitSpec], path: Path) -> None:
        self.specs = specs
        self.path = path

    @classmethod
    def load(cls, path: Path = LIMITS_FILE) -> LimitMap:
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise LimitError(f"{path}: cannot read the limit map: {exc}") from None
        specs: dict[str, LimitSpec] = {}
        for name, t in _flatten(data):
            stat = t.get("stat", "max")
            if stat not in _STATS:
                raise LimitError(f"{path}: [{name}] stat = {stat!r}: must be one of "
                                 + ", ".join(_STATS))
            if "unit" not in t:
                raise LimitError(f"{path}: [{name}] unit: missing")
            specs[name] = LimitSpec(name=name, unit=t["unit"], stat=stat, low=t.get("low"),
                                    high=t.get("high"), scale=float(t.get("scale", 1.0)),
                                    description=t.get("description", ""))
        return cls(specs, Path(path))

    def spec(self, name: str) -> LimitSpec | None:
        """The entry of `name` or of its family: ocpp.response_time.Reset -> ocpp.response_time."""
        while name:
            if name in self.specs:
                return self.specs[name]
            name = name.rpartition(".")[0] if "." in name else ""
        return None

    def limits(self, name: str, settings: dict[str, Any], settings_source: str) -> Limits | None:
        spec = self.spec(name)
        if spec is None or (spec.low is None and spec.high is None):
            return None
        where = f"{self.path.name} [{spec.name}]"
        low = None if spec.low is None else evaluate(spec.low, settings, where) * spec.scale
        high = None if spec.high is None else evaluate(spec.high, settings, where) * spec.scale
        exprs = " ; ".join(f"{k}={v}" for k, v in (("low", spec.low), ("high", spec.high))
                           if v is not None)
        return Limits(low=low, high=high, stat=spec.stat,
                      source=f"{settings_source} via {where} ({exprs})")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Dotted TOML tables: a table holding `unit` is an entry, others are namespaces."""
    out: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        name = f"{prefix}.{key}" if prefix else key
        if "unit" in value:
            out.append((name, value))
        out.extend(_flatten({k: v for k, v in value.items() if isinstance(v, dict)}, name))
    return out

"""Modbus register maps as data (instruments/maps/*.toml): addresses, types, scaling, enums.

The EV driver encodes and decodes through a RegisterMap, so a real emulator gets its own map
file (same register names, its own addresses, scaling and word order) and no new code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAPS_DIR = Path(__file__).resolve().parent / "maps"
_WIDTH = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2}


class RegisterMapError(ValueError):
    """A register map file that cannot be used (names the file and the register)."""


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    type: str
    access: str = "rw"
    scale: float = 1.0
    unit: str | None = None
    enum: dict[str, int] | None = None

    @property
    def count(self) -> int:
        return _WIDTH[self.type]

    def encode(self, value: Any, word_order: str) -> list[int]:
        """Engineering value (or enum name) -> raw register words."""
        if self.enum is not None and isinstance(value, str):
            if value not in self.enum:
                raise ValueError(f"register {self.name}: {value!r} not one of "
                                 f"{', '.join(self.enum)}")
            raw = self.enum[value]
        else:
            raw = round(float(value) * self.scale)
        bits = 16 * self.count
        signed = self.type.startswith("int")
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= raw <= hi:
            raise ValueError(f"register {self.name}: {value!r} out of range for {self.type}"
                             f" (scale {self.scale:g})")
        raw &= (1 << bits) - 1
        if self.count == 1:
            return [raw]
        words = [(raw >> 16) & 0xFFFF, raw & 0xFFFF]
        return words if word_order == "big" else words[::-1]

    def decode(self, words: list[int], word_order: str) -> Any:
        """Raw words -> engineering value (float when scaled, enum name when an enum)."""
        if self.count == 1:
            raw = words[0]
        else:
            hi, lo = (words[0], words[1]) if word_order == "big" else (words[1], words[0])
            raw = (hi << 16) | lo
        bits = 16 * self.count
        if self.type.startswith("int") and raw & (1 << (bits - 1)):
            raw -= 1 << bits
        if self.enum is not None:
            names = {v: k for k, v in self.enum.items()}
            return names.get(raw, f"unknown({raw})")
        if self.scale != 1:
            return raw / self.scale
        return raw


@dataclass(frozen=True)
class RegisterMap:
    path: Path
    family: str
    version: int
    word_order: str
    registers: dict[str, Register] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Register:
        try:
            return self.registers[name]
        except KeyError:
            raise RegisterMapError(f"{self.path}: no register {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.registers


def resolve_map_path(name_or_path: str, base: Path | None = None) -> Path | None:
    """A map name (bench-ev-v1) or a file path (relative to base, then cwd) -> existing path."""
    candidates = [MAPS_DIR / f"{name_or_path}.toml"]
    p = Path(name_or_path)
    if p.suffix == ".toml":
        candidates += [p] if p.is_absolute() else [(base or Path.cwd()) / p, Path.cwd() / p]
    return next((c for c in candidates if c.is_file()), None)


def load_register_map(name_or_path: str, base: Path | None = None) -> RegisterMap:
    path = resolve_map_path(name_or_path, base)
    if path is None:
        raise RegisterMapError(f"register map {name_or_path!r} not found in {MAPS_DIR}")
    data = tomllib.loads(path.read_text("utf-8"))
    dev = data.get("device", {})
    word_order = dev.get("word_order", "big")
    if word_order not in ("big", "little"):
        raise RegisterMapError(f"{path}: [device] word_order = {word_order!r}: big or little")
    enums = data.get("enums", {})
    regs: dict[str, Register] = {}
    for name, body in data.get("registers", {}).items():
        rtype = body.get("type", "uint16")
        if rtype not in _WIDTH:
            raise RegisterMapError(f"{path}: [registers.{name}] type = {rtype!r}: one of "
                                   + ", ".join(_WIDTH))
        enum_name = body.get("enum")
        if enum_name is not None and enum_name not in enums:
            raise RegisterMapError(f"{path}: [registers.{name}] enum = {enum_name!r}: no "
                                   f"[enums.{enum_name}]")
        regs[name] = Register(
            name=name, address=int(body["address"]), type=rtype,
            access=body.get("access", "rw"), scale=float(body.get("scale", 1)),
            unit=body.get("unit"), enum=dict(enums[enum_name]) if enum_name else None,
        )
    return RegisterMap(path, dev.get("family", "?"), int(dev.get("version", 0)), word_order,
                       regs)

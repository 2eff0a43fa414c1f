"""The EV emulator register map: data read from `instruments/maps/<name>.toml`, never hard-coded.

Read independently of `instruments/regmap.py` on purpose: the twin stands for the device and
the driver for the bench, and one shared decoder would hide a misreading of the map (scale,
word order, sign) on both sides at once; the driver tests against the twin catch it this way.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MAPS_DIR = Path(__file__).resolve().parents[2] / "instruments" / "maps"
WORDS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2}


class RegisterMapError(ValueError):
    """A register map file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    type: str
    access: str  # "rw" or "r"
    scale: int = 1
    enum: str | None = None
    unit: str | None = None

    @property
    def words(self) -> int:
        return WORDS[self.type]

    @property
    def writable(self) -> bool:
        return "w" in self.access


@dataclass(frozen=True)
class RegisterMap:
    path: Path
    family: str
    version: int
    word_order: str  # "big" = high word first
    registers: dict[str, Register]
    enums: dict[str, dict[str, int]] = field(default_factory=dict)

    def by_address(self) -> dict[int, tuple[Register, int]]:
        """Every word address -> (register, word index inside the register)."""
        out: dict[int, tuple[Register, int]] = {}
        for reg in self.registers.values():
            for i in range(reg.words):
                out[reg.address + i] = (reg, i)
        return out

    def enum_value(self, enum: str, name: str) -> int:
        return self.enums[enum][name]

    def enum_name(self, enum: str, value: int) -> str | None:
        return next((k for k, v in self.enums[enum].items() if v == value), None)


def map_path(name_or_path: str | Path) -> Path:
    """`bench-ev-v1` -> instruments/maps/bench-ev-v1.toml; a path with a suffix stays a path."""
    p = Path(name_or_path)
    return p if p.suffix == ".toml" else MAPS_DIR / f"{p.name}.toml"


def load_register_map(name_or_path: str | Path) -> RegisterMap:
    path = map_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RegisterMapError(f"{path}: register map not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RegisterMapError(f"{path}: not valid TOML: {exc}") from exc
    device = data.get("device", {})
    word_order = device.get("word_order", "big")
    if word_order not in ("big", "little"):
        raise RegisterMapError(
            f"{path}: [device] word_order = {word_order!r}: must be big or little")
    enums = {k: dict(v) for k, v in data.get("enums", {}).items()}
    registers: dict[str, Register] = {}
    for name, spec in data.get("registers", {}).items():
        where = f"{path}: [registers.{name}]"
        try:
            reg = Register(
                name=name, address=int(spec["address"]), type=spec.get("type", "uint16"),
                access=spec.get("access", "r"), scale=int(spec.get("scale", 1)),
                enum=spec.get("enum"), unit=spec.get("unit"),
            )
        except KeyError as exc:
            raise RegisterMapError(f"{where}: missing key {exc}") from exc
        if reg.type not in WORDS:
            raise RegisterMapError(f"{where} type = {reg.type!r}: must be one of {sorted(WORDS)}")
        if reg.access not in ("r", "rw"):
            raise RegisterMapError(f"{where} access = {reg.access!r}: must be r or rw")
        if reg.enum is not None and reg.enum not in enums:
            raise RegisterMapError(f"{where} enum = {reg.enum!r}: no [enums.{reg.enum}] table")
        registers[name] = reg
    result = RegisterMap(path, device.get("family", ""), int(device.get("version", 0)),
                         word_order, registers, enums)
    seen: dict[int, str] = {}
    for reg in registers.values():
        for a in range(reg.address, reg.address + reg.words):
            if a in seen:
                raise RegisterMapError(f"{path}: {reg.name} overlaps {seen[a]} at address {a}")
            seen[a] = reg.name
    return result

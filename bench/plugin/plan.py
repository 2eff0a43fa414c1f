"""Campaign plans (testplans/plans/*.toml) and the settings a run works with.

A plan selects cases (suites = folders under testplans/, or explicit case ids), says how often
to repeat them, and may shorten intervals for the simulated rig only (`[sim_settings]`): on a
real rig the PICS values stand.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTPLANS_DIR = Path(__file__).resolve().parents[2] / "testplans"
PLANS_DIR = TESTPLANS_DIR / "plans"

# bench-side settings every run has (a rig's [pics] or a plan may override them)
DEFAULT_SETTINGS: dict[str, Any] = {
    "connector": 1,  # the connector the cases use (the one with the reference meter)
    "card": "valid",  # the card tag used to start sessions
    "message_timeout_s": 30,  # how long a case waits for a station message
    "boot_timeout_s": 120,  # how long a case waits for a (re)boot
    "case_timeout_s": 600,  # overall backstop of one case
    "settle_timeout_s": 30,  # maintenance: how long to wait for the station to settle
    "interval_tolerance_s": 1.0,  # allowed |interval - configured| (EVerest validate_interval)
    "boot_retry_interval_s": 10,  # the interval the bench gives in BootNotification Rejected
    "power_off_s": 5.0,  # how long a power cycle keeps the mains off
    "ev_current_a": 32.0,  # what the EV emulator asks for when it charges
    "card_hold_s": 0.6,  # how long a card tap lies on the reader (readers poll, e.g. 0.2 s)
    "current_threshold_a": 1.0,  # output current above which energy counts as flowing
    "ev_voltage_v": 400.0,  # the DC voltage the EV emulator asks for when it charges
    # Sample.Clock timestamps must sit this close to the aligned instant (a rig may tighten it)
    "clock_alignment_tolerance_s": 1.0,
    # below this reference energy a transaction's energy is not compared: a 1 Wh step of
    # meterStart/meterStop would be over 10 % of it (the measurement is UNSET, with the reason)
    "energy_min_wh": 10.0,
    "reference_energy_resolution_wh": 0.001,  # the reference meter's energy resolution
}

_PLAN_KEYS = ("name", "description", "suites", "cases", "repeat", "settings", "sim_settings",
              "exclude")


class PlanError(ValueError):
    """A plan file that cannot be used; the message names the file and the key."""


@dataclass
class Plan:
    name: str
    path: Path | None = None
    description: str = ""
    suites: list[str] = field(default_factory=lambda: ["core"])
    cases: list[str] = field(default_factory=list)  # empty: every case of the suites
    exclude: list[str] = field(default_factory=list)
    repeat: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    sim_settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "path": str(self.path) if self.path else None,
            "description": self.description, "suites": self.suites, "cases": self.cases,
            "exclude": self.exclude, "repeat": self.repeat,
            "settings": self.settings, "sim_settings": self.sim_settings,
        }

    def paths(self) -> list[Path]:
        return [TESTPLANS_DIR / s for s in self.suites]


def load_plan(name_or_path: str | Path) -> Plan:
    """`core` -> testplans/plans/core.toml; a path is taken as is."""
    p = Path(name_or_path)
    if p.suffix != ".toml":
        p = PLANS_DIR / f"{name_or_path}.toml"
    if not p.exists():
        known = ", ".join(sorted(x.stem for x in PLANS_DIR.glob("*.toml"))) or "none"
        raise PlanError(f"{p}: plan not found (plans: {known})")
    try:
        data = tomllib.loads(p.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{p}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_PLAN_KEYS))
    if unknown:
        raise PlanError(f"{p}: {unknown[0]}: unknown key; allowed: {', '.join(_PLAN_KEYS)}")
    repeat = data.get("repeat", 1)
    if not isinstance(repeat, int) or repeat < 1:
        raise PlanError(f"{p}: repeat = {repeat!r}: must be an integer >= 1")
    suites = data.get("suites", ["core"])
    for s in suites:
        if not (TESTPLANS_DIR / s).is_dir():
            raise PlanError(f"{p}: suites: {s!r} is not a folder under {TESTPLANS_DIR}")
    return Plan(
        name=str(data.get("name", p.stem)), path=p,
        description=str(data.get("description", "")), suites=list(suites),
        cases=[c.upper() for c in data.get("cases", [])],
        exclude=[c.upper() for c in data.get("exclude", [])], repeat=repeat,
        settings=dict(data.get("settings", {})),
        sim_settings=dict(data.get("sim_settings", {})),
    )


def effective_settings(pics: dict[str, Any], plan: Plan, simulated: bool) -> dict[str, Any]:
    """Defaults, then the rig's PICS, then the plan; `sim_settings` only on the simulated rig."""
    settings = {**DEFAULT_SETTINGS, **pics, **plan.settings}
    if simulated:
        settings.update(plan.sim_settings)
    if "message_timeout_s" not in plan.settings and "message_timeout_s" not in pics:
        settings["message_timeout_s"] = settings.get(
            "triggered_function_timeout_s", DEFAULT_SETTINGS["message_timeout_s"])
        if simulated and "message_timeout_s" in plan.sim_settings:
            settings["message_timeout_s"] = plan.sim_settings["message_timeout_s"]
    return settings


def case_index(plan: Plan) -> dict[str, dict[str, Any]]:
    """Case id -> {path, name, keywords} of every case module in the plan's suites, read from
    the source (no import): lets `bench run` reject an unknown --cases id before bringing up
    the rig. A marker whose arguments are not literals raises PlanError naming the file, the
    line and the argument (a case silently missing from the index could not be selected)."""
    import ast

    out: dict[str, dict[str, Any]] = {}
    for suite in plan.paths():
        for path in sorted(suite.rglob("test_*.py")):
            try:
                tree = ast.parse(path.read_text("utf-8"), str(path))
            except (OSError, SyntaxError, UnicodeDecodeError) as exc:
                raise PlanError(f"{path}: cannot read the case module: {exc}") from None
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "octt" \
                        and len(node.args) >= 2:
                    args = [("case id", node.args[0]), ("name", node.args[1])] + [
                        (k.arg, k.value) for k in node.keywords if k.arg]
                    values = {}
                    for what, expr in args:
                        try:
                            values[what] = ast.literal_eval(expr)
                        except ValueError:
                            raise PlanError(
                                f"{path}:{expr.lineno}: @pytest.mark.octt {what} = "
                                f"{ast.unparse(expr)!r} is not a literal: write it as one "
                                "(bench run reads markers without importing the module)"
                            ) from None
                    case_id, name = values.pop("case id"), values.pop("name")
                    out[str(case_id)] = {"path": path, "name": name, "keywords": values}
    return out


def plans_with_case(case_id: str) -> list[str]:
    """The plans (testplans/plans/*.toml) whose suites hold `case_id` (for a hint)."""
    found = []
    for p in sorted(PLANS_DIR.glob("*.toml")):
        try:
            if case_id in case_index(load_plan(p)):
                found.append(p.stem)
        except PlanError:
            continue
    return found

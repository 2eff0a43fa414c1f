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

from bench.config.rig import PICS_KEYS

TESTPLANS_DIR = Path(__file__).resolve().parents[2] / "testplans"
PLANS_DIR = TESTPLANS_DIR / "plans"

# The bench's own settings, each with its meaning. A plan's [settings] (and, on the simulated
# rig, its [sim_settings]) may change them, and the station's declared values (the rig's [pics],
# bench.config.rig.PICS_KEYS); nothing else is a setting (load_plan refuses an unknown one).
# A case reads them with case.setting(name); marker configs name them as "{name}".
# docs/settings.md explains each with the cases that use it.
DEFAULT_SETTINGS: dict[str, Any] = {
    "connector": 1,  # the connector the cases use (the one with the reference meter)
    "card": "valid",  # the card tag used to start sessions
    # how long a case waits for a station message; the PICS triggered-function timeout when
    # the rig declares one (effective_settings)
    "message_timeout_s": 30,
    "boot_timeout_s": 120,  # how long a case waits for a (re)boot
    "case_timeout_s": 600,  # overall backstop of one case
    "settle_timeout_s": 30,  # maintenance: how long to wait for the station to settle
    "maintenance_timeout_s": 600,  # overall backstop of the maintenance after a case
    "interval_tolerance_s": 1.0,  # allowed |interval - configured| (EVerest validate_interval)
    "boot_retry_interval_s": 10,  # the interval the bench gives in BootNotification Rejected
    "power_off_s": 5.0,  # how long a power cycle keeps the mains off
    "ev_current_a": 32.0,  # what the EV emulator asks for when it charges
    "ev_voltage_v": 400.0,  # the DC voltage the EV emulator asks for when it charges
    "card_hold_s": 0.6,  # how long a card tap lies on the reader (readers poll, e.g. 0.2 s)
    # socket rigs: how long a pull of the cable's station end waits for the station to open
    # its lock (after the EV end left, an unlock, a stop); OCPP sets no time, it is the bench's
    "lock_release_s": 5.0,
    "current_threshold_a": 1.0,  # output current above which energy counts as flowing
    # how often the output current is read while a case waits for it to rise or fall: an
    # edge is seen late by at most this plus one instrument read
    "current_poll_s": 0.1,
    # how long the bench watches that a reaction the text forbids does not come (a stop after
    # an EV-side unplug with StopTransactionOnEVSideDisconnect=false, a start after a refused
    # card or a rejected RemoteStart, ...): OCPP sets no such window, it is the bench's choice
    "watch_s": 2.0,
    # the same after a card tap the station must ignore (TC_068): one Authorize round trip
    # and the station's reaction to its answer fit in it
    "card_watch_s": 3.0,
    # how long the offline cases (TC_037_x, TC_038, TC_039) keep the network down: their
    # offline steps (plug, card, the current edge) must be done within it
    "offline_window_s": 6.0,
    # MinimumStatusDuration the refused-card cases (TC_023_x) configure, as OCTT does: the
    # Preparing after the plug may come that late
    "refused_card_min_status_s": 10,
    # Sample.Clock timestamps must sit this close to the aligned instant (a rig may tighten it)
    "clock_alignment_tolerance_s": 1.0,
    # below this reference energy a transaction's energy is not compared: a 1 Wh step of
    # meterStart/meterStop would be over 10 % of it (the measurement is UNSET, with the reason)
    "energy_min_wh": 10.0,
    "reference_energy_resolution_wh": 0.001,  # the reference meter's energy resolution
    # Firmware Management (testplans/firmware): retries and retryInterval the bench gives in
    # UpdateFirmware and GetDiagnostics, how long a download may take (Downloading ->
    # Downloaded or DownloadFailed), an installation with its reboot (Installing -> Installed),
    # and a diagnostics upload (GetDiagnostics -> Uploaded or UploadFailed)
    "firmware_retries": 1,
    "firmware_retry_interval_s": 10,
    "firmware_download_timeout_s": 600,
    "firmware_install_timeout_s": 900,
    "diagnostics_timeout_s": 300,
    # a bench file server logs a transfer when its connection closes, after the station has
    # its last byte: a download may end this long after the station reports it Downloaded
    "transfer_log_lag_s": 1.0,
    # the protocol the file-transfer cases use: "" = the first of the station's
    # SupportedFileTransferProtocols the bench serves
    "file_protocol": "",
    # Smart Charging (testplans/smartcharging): the limits the cases install, below
    # ev_current_a so that the EV asks for more than they allow (a limit the EV never reaches
    # shows nothing); a period's length in the schedules whose boundary the output must follow
    "smart_limit_a": 16.0,
    "smart_limit_low_a": 10.0,
    "schedule_period_s": 10.0,
    # how far above the limit a settled output reading may lie (meter accuracy, regulation)
    "limit_tolerance_a": 0.5,
    # after the output settled under a limit, the limit error is sampled this long
    "limit_hold_s": 1.0,
    # the GetCompositeSchedule duration of TC_066/TC_072 (OCTT: 400 s)
    "composite_duration_s": 400,
    # how far apart a breakpoint of the station's composite schedule may sit from the bench's
    # (startPeriod is whole seconds, counted from the station's own request time)
    "schedule_period_tolerance_s": 1.0,
    # Reservation: how far ahead of the bench's clock the expiryDate of a case's reservation
    # lies (it must outlast the case), and the shorter one TC_047 waits out and measures
    "reservation_expiry_s": 300,
    "reservation_expire_s": 30,
    # the soak plan (testplans/soak): sessions per run, how long each charges, and > 0: as
    # many sessions as fit in this time instead of the count
    "soak_sessions": 20,
    "soak_session_s": 60,
    "soak_duration_s": 0,
    # Security whitepaper: how long a station may take to come back after a password change
    # (TC_073): it drops the connection and reconnects; the whitepaper sets no time
    "security_reconnect_s": 60,
    # TC_083: how long the bench refuses reconnects after the upgrade, watching that the
    # station does not try its old profile meanwhile: long enough for a failed attempt or two
    "security_fallback_window_s": 60,
    # TC_086: how long the bench shows a server certificate the station must refuse, watching
    # that no TLS connection gets through: long enough for a few reconnect attempts
    "untrusted_certificate_window_s": 30,
}

_PLAN_KEYS = ("name", "description", "suites", "cases", "repeat", "settings", "sim_settings",
              "exclude")


# The suites of the OCPP 1.6 feature profiles (one folder each under testplans/). A plan may
# name one that is not there yet (a profile still being written): it contributes no case, and
# `Plan.absent_suites` says so; any other missing folder is a mistake in the plan.
PROFILE_SUITES = ("core", "localauth", "firmware", "reservation", "trigger", "smartcharging",
                  "security")


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
            "description": self.description, "suites": self.suites,
            "absent_suites": self.absent_suites, "cases": self.cases,
            "exclude": self.exclude, "repeat": self.repeat,
            "settings": self.settings, "sim_settings": self.sim_settings,
        }

    def paths(self) -> list[Path]:
        """The folders of the plan's suites that exist (see PROFILE_SUITES)."""
        return [TESTPLANS_DIR / s for s in self.suites if (TESTPLANS_DIR / s).is_dir()]

    @property
    def absent_suites(self) -> list[str]:
        """Profile suites the plan names that have no folder (yet): no case comes from them."""
        return [s for s in self.suites if not (TESTPLANS_DIR / s).is_dir()]


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
    if not isinstance(suites, list) or not all(isinstance(s, str) for s in suites):
        raise PlanError(f"{p}: suites = {suites!r}: must be a list of folder names")
    for s in suites:
        if not (TESTPLANS_DIR / s).is_dir() and s not in PROFILE_SUITES:
            raise PlanError(f"{p}: suites: {s!r} is not a folder under {TESTPLANS_DIR} (nor "
                            f"one of the profile suites {', '.join(PROFILE_SUITES)})")
    for table in ("settings", "sim_settings"):
        check_setting_names(data.get(table, {}), f"{p}: [{table}]")
    return Plan(
        name=str(data.get("name", p.stem)), path=p,
        description=str(data.get("description", "")), suites=list(suites),
        cases=[c.upper() for c in data.get("cases", [])],
        exclude=[c.upper() for c in data.get("exclude", [])], repeat=repeat,
        settings=dict(data.get("settings", {})),
        sim_settings=dict(data.get("sim_settings", {})),
    )


def check_setting_names(values: Any, where: str) -> None:
    """A plan may set the bench's settings and the PICS values, nothing else: a misspelt
    name would silently change nothing."""
    if not isinstance(values, dict):
        raise PlanError(f"{where} must be a table of setting = value")
    for name in values:
        if name not in DEFAULT_SETTINGS and name not in PICS_KEYS:
            raise PlanError(f"{where} {name}: unknown setting; settings: "
                            f"{', '.join(sorted(DEFAULT_SETTINGS))}; PICS values: "
                            f"{', '.join(sorted(PICS_KEYS))}")


def effective_settings(pics: dict[str, Any], plan: Plan, simulated: bool) -> dict[str, Any]:
    """The bench defaults, then the station's declared values (the rig's [pics]: only
    PICS_KEYS, the rig loader refuses others), then the plan's [settings] and, on the simulated
    rig only, its [sim_settings]. A case waits for a station message as long as the declared
    triggered-function timeout unless the plan sets message_timeout_s itself."""
    plan_values = {**plan.settings, **(plan.sim_settings if simulated else {})}
    settings = {**DEFAULT_SETTINGS, **pics, **plan_values}
    if "message_timeout_s" not in plan_values and "triggered_function_timeout_s" in settings:
        settings["message_timeout_s"] = settings["triggered_function_timeout_s"]
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

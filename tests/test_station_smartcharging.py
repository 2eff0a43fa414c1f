"""The simulated station's Smart Charging profile over a real websocket: what it accepts,
its composite schedule, the limit its output obeys, persistence across a reboot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from test_station_support import VALID, station_rig, wait_until

SMART = {"smart_charging": True}


def now_iso(offset_s: float = 0.0) -> str:
    t = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def profile(pid: int, purpose: str, stack: int, periods: list[tuple[int, float]],
            duration: int | None = None, **extra: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": "A", "startSchedule": now_iso(),
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}
    if duration is not None:
        schedule["duration"] = duration
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute", "chargingSchedule": schedule, **extra}


async def set_profile(rig, connector: int, cs: dict[str, Any]) -> str:
    res = await rig.cs.call("SetChargingProfile", {"connectorId": connector,
                                                    "csChargingProfiles": cs})
    return res.get("status")


async def test_station_declares_the_profile_only_when_enabled(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        res = await rig.cs.call("GetConfiguration", {"key": ["SupportedFeatureProfiles",
                                                             "ChargingScheduleMaxPeriods"]})
        values = {k["key"]: k["value"] for k in res.get("configurationKey")}
        assert values == {"SupportedFeatureProfiles": "Core,SmartCharging",
                          "ChargingScheduleMaxPeriods": "10"}
    async with station_rig(tmp_path / "core") as rig:
        res = await rig.cs.call("SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": profile(1, "TxDefaultProfile", 0, [(0, 6)])})
        assert res.error is not None and res.error.code == "NotSupported"


async def test_output_follows_the_limit_and_its_periods(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        await rig.charging(1)
        c = rig.model.connector(1)
        await wait_until(lambda: c.current_a == 100.0, 5, "the EV's 100 A")
        assert await set_profile(rig, 1, profile(1, "TxDefaultProfile", 0,
                                                 [(0, 16), (2, 10)])) == "Accepted"
        await wait_until(lambda: c.current_a == 16.0, 2, "16 A after SetChargingProfile")
        await wait_until(lambda: c.current_a == 10.0, 4, "10 A at the period boundary")


async def test_tx_profile_needs_its_transaction(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        idle = profile(1, "TxProfile", 0, [(0, 6)], transactionId=1)
        assert await set_profile(rig, 1, idle) == "Rejected"
        tx_id = await rig.charging(1)
        other = profile(2, "TxProfile", 0, [(0, 6)], transactionId=tx_id + 1)
        assert await set_profile(rig, 1, other) == "Rejected"
        mine = profile(3, "TxProfile", 0, [(0, 6)], transactionId=tx_id)
        assert await set_profile(rig, 1, mine) == "Accepted"
        await wait_until(lambda: rig.model.connector(1).current_a == 6.0, 2, "6 A")


async def test_composite_schedule_stacks_and_clears(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        assert await set_profile(rig, 1, profile(1, "TxDefaultProfile", 0,
                                                 [(0, 6), (100, 8), (200, 10)], 400)) == "Accepted"
        assert await set_profile(rig, 1, profile(2, "TxDefaultProfile", 1, [(0, 5)],
                                                 150)) == "Accepted"
        res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 400})
        periods = [(p["startPeriod"], p["limit"])
                   for p in res.get("chargingSchedule")["chargingSchedulePeriod"]]
        assert res.get("status") == "Accepted"
        # whole seconds from the request: the breakpoints land at most one second early
        assert [v for _, v in periods] == [5, 8, 10]
        assert [s for s, _ in periods][1:] in ([150, 200], [149, 199])
        res = await rig.cs.call("ClearChargingProfile", {"id": 2})
        assert res.get("status") == "Accepted"
        res = await rig.cs.call("ClearChargingProfile", {"id": 2})
        assert res.get("status") == "Unknown"
        res = await rig.cs.call("ClearChargingProfile", {"chargingProfilePurpose": "TxProfile"})
        assert res.get("status") == "Unknown"


async def test_profiles_survive_a_reboot(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        assert await set_profile(rig, 0, profile(1, "ChargePointMaxProfile", 0,
                                                 [(0, 12)])) == "Accepted"
        await rig.cs.call("Reset", {"type": "Soft"})
        await rig.cs.expect("BootNotification", within=10)
        await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5)
        res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 10})
        assert res.get("chargingSchedule")["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 12.0}]


async def test_remote_start_takes_a_tx_profile_only(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART,
                           keys={"AuthorizeRemoteTxRequests": False}) as rig:
        wrong = profile(1, "TxDefaultProfile", 0, [(0, 6)])
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID,
                                                           "chargingProfile": wrong})
        assert res.get("status") == "Rejected"
        rig.plug(1)
        tx = profile(2, "TxProfile", 0, [(0, 8)])
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID,
                                                           "chargingProfile": tx})
        assert res.get("status") == "Accepted"
        await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        await wait_until(lambda: rig.model.connector(1).current_a == 8.0, 3, "8 A")


async def test_a_limit_in_watts_becomes_a_current_through_the_dc_voltage(tmp_path: Path) -> None:
    async with station_rig(tmp_path, station=SMART) as rig:
        await rig.charging(1)  # the EV asks for 100 A at 400 V
        cs = profile(1, "TxDefaultProfile", 0, [(0, 8000)])
        cs["chargingSchedule"]["chargingRateUnit"] = "W"
        assert await set_profile(rig, 1, cs) == "Accepted"
        await wait_until(lambda: rig.model.connector(1).current_a == 20.0, 2, "8000 W / 400 V")
        res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 5,
                                                         "chargingRateUnit": "A"})
        assert res.get("chargingSchedule")["chargingSchedulePeriod"][0]["limit"] == 20.0


def _scenarios() -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Installed profiles (connector, csChargingProfiles) exercising what the cases do not:
    validity bounds, Recurring, a cap from connector 0, mixed stack levels."""
    def with_validity(cs: dict[str, Any], start: float | None, end: float | None) -> dict:
        if start is not None:
            cs["validFrom"] = now_iso(start)
        if end is not None:
            cs["validTo"] = now_iso(end)
        return cs

    day_ago = now_iso(-86400 - 30)
    recurring = profile(1, "TxDefaultProfile", 0, [(0, 6), (60, 14)])
    recurring["chargingProfileKind"], recurring["recurrencyKind"] = "Recurring", "Daily"
    recurring["chargingSchedule"]["startSchedule"] = day_ago
    return {
        "validity": [(1, profile(1, "TxDefaultProfile", 0, [(0, 16)])),
                     (1, with_validity(profile(2, "TxDefaultProfile", 1, [(0, 8)]), 20, 50))],
        "recurring": [(1, recurring)],
        "cap and stacks": [(0, profile(1, "ChargePointMaxProfile", 0, [(0, 12), (40, 9)])),
                           (1, profile(2, "TxDefaultProfile", 0, [(0, 20), (70, 7)])),
                           (0, profile(3, "TxDefaultProfile", 2, [(0, 10)], 30))],
    }


async def test_station_and_bench_agree_on_composites(tmp_path: Path) -> None:
    """Two independent implementations: the station's sampled composite against the
    bench's breakpoint one, on the same installed profiles."""
    from bench.smartcharging import ChargingProfile, compare_composite, composite_schedule

    for name, items in _scenarios().items():
        async with station_rig(tmp_path / name.replace(" ", "-"), station=SMART) as rig:
            for n, cs in items:
                assert await set_profile(rig, n, cs) == "Accepted", name
            res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 120,
                                                             "chargingRateUnit": "A"})
            start = dt.datetime.fromisoformat(res.get("scheduleStart").replace("Z", "+00:00"))
            parsed = [ChargingProfile.from_ocpp(cs, n) for n, cs in items]
            expected = composite_schedule(parsed, 1, start, 120, "A")
            result = compare_composite(expected, res.get("chargingSchedule"), 1.0)
            assert result.ok and not result.unlimited, (name, result, res.payload)

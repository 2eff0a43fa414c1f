"""Each fault profile makes its non-conformance visible on the wire (one case per fault)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_station_firmware import FAST as FW_FAST
from test_station_firmware import IMAGE as FW_IMAGE
from test_station_firmware import PROFILES as FW_PROFILES
from test_station_firmware import file_service, now_iso
from test_station_firmware import landed as fw_landed
from test_station_firmware import statuses as fw_statuses
from test_station_support import MEMBER, STATION_ID, VALID, VALID2, Rig, station_rig, wait_until

from bench.csms import CallErrorReply
from bench.files import FaultMode, TransferFault
from sim.station import FAULTS, format_faults

Check = Callable[[Path], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def stamp(msg) -> datetime:
    return datetime.fromisoformat(msg.payload["meterValue"][0]["timestamp"].replace("Z", "+00:00"))


async def remote_stop(rig: Rig, tx_id: int):
    await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id})
    return await rig.cs.expect("StopTransaction", within=5)


@check("late_remote_start")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"late_remote_start"},
                           station={"late_remote_start_s": 1.5}) as rig:
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        assert res.get("status") == "Accepted" and res.response_time_s >= 1.4


@check("meter_interval_12s")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"meter_interval_12s"},
                           keys={"MeterValueSampleInterval": 1}) as rig:
        tx_id = await rig.charging(1)
        a = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
        b = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
        assert (stamp(b) - stamp(a)).total_seconds() >= 1.12


@check("clock_aligned_off_boundary")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"clock_aligned_off_boundary"},
                           keys={"ClockAlignedDataInterval": 2}) as rig:
        tx_id = await rig.charging(1)
        mv = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
        assert stamp(mv).second % 2 == 1  # half an interval off the even seconds


@check("no_connector0_status")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_connector0_status"}) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await asyncio.sleep(0.3)
        assert not [m for m in rig.cs.received("StatusNotification")
                    if m.payload["connectorId"] == 0]


@check("wrong_stop_reason")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"wrong_stop_reason"}) as rig:
        stop = await remote_stop(rig, await rig.charging(1))
        assert stop.payload["reason"] == "Local"


@check("invalid_boot_notification")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"invalid_boot_notification"}, boot=False,
                           allowed_findings=frozenset({"schema-violation"})) as rig:
        await wait_until(lambda: any(f["code"] == "schema-violation" for f in rig.cs.findings),
                         5, "a schema-violation finding")
        assert not rig.cs.booted and rig.sim.boot_status is None


@check("availability_not_persisted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"availability_not_persisted"}) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Unavailable"}, 5)
        gen = rig.cs.generation
        await rig.cs.call("Reset", {"type": "Hard"})
        since = await rig.new_connection(gen)
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5, after=since)
        assert sn.payload["status"] == "Available"


@check("no_transaction_retry")
async def _(tmp: Path) -> None:
    failures = itertools.count()

    def start(_payload):
        if next(failures) == 0:
            return CallErrorReply("InternalError", "bench says no")
        return {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}

    async with station_rig(tmp, faults={"no_transaction_retry"},
                           overrides={"StartTransaction": start}) as rig:
        rig.plug(1)
        rig.cards.tap(VALID)
        await rig.cs.expect("StartTransaction", within=5)
        await asyncio.sleep(1.5)  # TransactionMessageRetryInterval is 1 s
        assert rig.cs.received("StartTransaction") == []


@check("queued_out_of_order")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"queued_out_of_order"},
                           keys={"MeterValueSampleInterval": 1}) as rig:
        tx_id = await rig.charging(1)
        await rig.cs.disconnect(refuse_for=2.5)
        await wait_until(lambda: len(rig.sim.txq) >= 2, 6, "two queued MeterValues")
        await rig.cs.wait_reconnected(10)
        first = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5,
                                    after=rig.cs.connected_mono_ns)
        second = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5,
                                     after=rig.cs.connected_mono_ns)
        assert stamp(second) < stamp(first)


@check("no_authorize_after_clear_cache")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_authorize_after_clear_cache"},
                           station={"authorization_cache": True},
                           keys={"LocalPreAuthorize": True}) as rig:
        rig.cards.tap(VALID)
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.cards.tap(VALID)  # presented again: cancelled
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, 5)
        res = await rig.cs.call("ClearCache", {})
        assert res.get("status") == "Accepted"
        with rig.cs.forbid("Authorize"):
            rig.cards.tap(VALID)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "Preparing"}, 5)


@check("heartbeat_wrong_interval")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"heartbeat_wrong_interval"}, heartbeat_s=1) as rig:
        last = await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        beat = await rig.cs.expect("Heartbeat", within=5)
        assert (beat.mono_ns - last.mono_ns) / 1e9 >= 1.35  # 1 s of silence is the interval


@check("remote_start_ignores_authorize")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"remote_start_ignores_authorize"}) as rig:
        assert rig.sim.key("AuthorizeRemoteTxRequests") == "true"
        rig.plug(1)
        await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        await rig.cs.expect("StartTransaction", {"idTag": VALID}, 5)
        assert rig.cs.received("Authorize") == []


@check("connection_timeout_ignored")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"connection_timeout_ignored"},
                           keys={"ConnectionTimeOut": 1}) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        rig.cards.tap(VALID)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        with rig.cs.forbid("StatusNotification", {"connectorId": 1, "status": "Available"}):
            await asyncio.sleep(1.6)


@check("stop_on_other_tag")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"stop_on_other_tag"}) as rig:
        await rig.charging(1, VALID)
        rig.cards.tap(VALID2)  # another group: must not stop
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["idTag"] == VALID2


@check("unknown_key_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"unknown_key_accepted"}) as rig:
        res = await rig.cs.call("ChangeConfiguration", {"key": "Testing", "value": "true"})
        assert res.get("status") == "Accepted"


@check("invalid_value_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"invalid_value_accepted"}) as rig:
        res = await rig.cs.call("ChangeConfiguration",
                                {"key": "MeterValueSampleInterval", "value": "-1"})
        assert res.get("status") == "Accepted"


@check("no_soft_reset_reason")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_soft_reset_reason"}) as rig:
        await rig.charging(1)
        await rig.cs.call("Reset", {"type": "Soft"})
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert "reason" not in stop.payload


@check("remote_start_busy_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"remote_start_busy_accepted"}) as rig:
        await rig.charging(1)
        res = await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID2})
        assert res.get("status") == "Accepted"


@check("ev_disconnect_always_stops")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"ev_disconnect_always_stops"},
                           keys={"StopTransactionOnEVSideDisconnect": False}) as rig:
        await rig.charging(1)
        rig.unplug(1)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "EVDisconnected"


@check("contactor_stays_closed")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"contactor_stays_closed"}) as rig:
        tx_id = await rig.charging(1)
        c = rig.model.connector(1)
        await wait_until(lambda: c.current_a > 0, 5, "current flowing while charging")
        await remote_stop(rig, tx_id)
        await asyncio.sleep(0.3)
        rig.model.tick()
        assert c.contactor_closed and c.current_a > 0


@check("timestamps_without_milliseconds")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"timestamps_without_milliseconds"}) as rig:
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 0}, 5)
        stamp = sn.payload["timestamp"]
        assert "." not in stamp and stamp.endswith("Z"), stamp  # whole seconds, still UTC


@check("clock_ahead")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"clock_ahead"}, station={"clock_skew_s": 10.0}) as rig:
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1}, 5)
        sent = datetime.fromisoformat(sn.payload["timestamp"].replace("Z", "+00:00"))
        assert 9.0 < (sent - datetime.now(UTC)).total_seconds() <= 10.5


@check("energy_register_high")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"energy_register_high"}) as rig:
        c = rig.model.connector(1)
        tx_id = await rig.charging(1)
        await wait_until(lambda: c.current_a > 0, 5, "current flowing")
        await asyncio.sleep(0.5)
        stop = await remote_stop(rig, tx_id)
        exact = c.energy_wh
        assert stop.payload["meterStop"] == round(exact * 1.05)


@check("clock_aligned_late")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"clock_aligned_late"},
                           keys={"ClockAlignedDataInterval": 2}) as rig:
        tx_id = await rig.charging(1)
        mv = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
        assert stamp(mv).timestamp() % 2 == pytest.approx(0.8, abs=0.01)  # 40 % of 2 s late


# --- socket outlets (sim/station/outlet.py): the station end of the cable and its lock ---
SOCKET = {"fixed_cable": False}


@check("lock_failure_unreported")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"lock_failure_unreported"}, station=SOCKET) as rig:
        await rig.cs.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
        c = rig.model.connector(1)
        c.socket_plug, c.plugged, c.cp_request = "half", True, "B"  # the pin cannot engage
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start and not c.lock_closed
        assert not [m for m in rig.cs.received("StatusNotification")
                    if m.payload["errorCode"] == "ConnectorLockFailure"]


@check("unlock_ignores_lock")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"unlock_ignores_lock"}, station=SOCKET) as rig:
        rig.model.connector(1).lock_held = True
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "Unlocked" and rig.model.connector(1).lock_closed


@check("socket_cable_unseen")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"socket_cable_unseen"}, station=SOCKET) as rig:
        await rig.charging(1)
        before = time.monotonic_ns()
        rig.unplug(1)  # the EV end only: the cable's station end stays in the socket
        await rig.cs.expect("StopTransaction", within=5)
        sn = await rig.cs.expect("StatusNotification", {"connectorId": 1,
                                                        "status": "Available"}, 5, after=before)
        assert sn and rig.model.connector(1).socket_plug == "seated"


@check("unlock_not_supported")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"unlock_not_supported"}, station=SOCKET) as rig:
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "NotSupported"


@check("unlock_keeps_transaction")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"unlock_keeps_transaction"}, station=SOCKET) as rig:
        await rig.charging(1)
        res = await rig.cs.call("UnlockConnector", {"connectorId": 1})
        assert res.get("status") == "Unlocked"
        await asyncio.sleep(0.5)
        assert not rig.cs.received("StopTransaction") and rig.sim.connectors[1].tx is not None

# -- Firmware Management and Remote Trigger (with the bench's real file servers) -------------

def corrupt(image: bytes) -> bytes:
    return image[:-10] + bytes(b ^ 0xFF for b in image[-10:])


@check("firmware_version_not_updated")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        url = files.publish("fw.bin", FW_IMAGE)["HTTP"]
        async with station_rig(tmp, keys=FW_PROFILES, faults={"firmware_version_not_updated"},
                               station=FW_FAST) as rig:
            res = await rig.cs.call("UpdateFirmware", {"location": url,
                                                       "retrieveDate": now_iso()})
            await fw_statuses(rig, "FirmwareStatusNotification", {"Installing"})
            boot = await rig.cs.expect("BootNotification", within=10, after=res.sent_mono_ns)
            assert boot.payload["firmwareVersion"] == rig.sim.cfg.firmware  # the old one


@check("downloaded_before_download")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        url = files.publish("fw.bin", FW_IMAGE)["HTTP"]
        async with station_rig(tmp, keys=FW_PROFILES, faults={"downloaded_before_download"},
                               station=FW_FAST) as rig:
            await rig.cs.call("UpdateFirmware", {"location": url, "retrieveDate": now_iso()})
            assert await fw_statuses(rig, "FirmwareStatusNotification", {"Downloaded"}) == [
                "Downloading", "Downloaded"]
            assert not files.transfers()  # reported before it fetched anything
            await fw_statuses(rig, "FirmwareStatusNotification", {"Installed"})  # then installs
            [fetched] = files.transfers()
            assert fetched.complete


@check("download_failure_silent")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        async with station_rig(tmp, keys=FW_PROFILES, faults={"download_failure_silent"}) as rig:
            await rig.cs.call("UpdateFirmware", {"location": files.file_url("HTTP", "none.bin"),
                                                 "retrieveDate": now_iso(), "retries": 0})
            await rig.cs.expect("FirmwareStatusNotification", {"status": "Downloading"}, 5)
            await wait_until(lambda: files.transfers(), 5, "the download attempt")
            await asyncio.sleep(0.5)
            assert not rig.cs.received("FirmwareStatusNotification")


@check("image_not_verified")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        url = files.publish("bad.bin", corrupt(FW_IMAGE))["FTP"]
        async with station_rig(tmp, keys=FW_PROFILES, faults={"image_not_verified"},
                               station=FW_FAST) as rig:
            await rig.cs.call("UpdateFirmware", {"location": url, "retrieveDate": now_iso()})
            assert await fw_statuses(rig, "FirmwareStatusNotification",
                                     {"Installed", "InstallationFailed"}) == [
                "Downloading", "Downloaded", "Installing", "Installed"]


@check("diagnostics_empty")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        async with station_rig(tmp, keys=FW_PROFILES, faults={"diagnostics_empty"}) as rig:
            await rig.cs.call("GetDiagnostics", {"location": files.upload_location("HTTP")})
            await rig.cs.expect("DiagnosticsStatusNotification", {"status": "Uploaded"}, 5)
        [upload] = await fw_landed(files, 1)
        assert upload.complete and upload.bytes == 0


@check("upload_failure_reported_uploaded")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        files.arm("FTP", TransferFault(FaultMode.REFUSE, times=5))
        async with station_rig(tmp, keys=FW_PROFILES,
                               faults={"upload_failure_reported_uploaded"}) as rig:
            await rig.cs.call("GetDiagnostics", {"location": files.upload_location("FTP"),
                                                 "retries": 0})
            await rig.cs.expect("DiagnosticsStatusNotification", {"status": "Uploaded"}, 5)
        assert [t.complete for t in await fw_landed(files, 1)] == [False]


@check("retry_without_interval")
async def _(tmp: Path) -> None:
    with file_service(tmp) as files:
        async with station_rig(tmp, keys=FW_PROFILES, faults={"retry_without_interval"}) as rig:
            await rig.cs.call("UpdateFirmware", {"location": files.file_url("HTTP", "none.bin"),
                                                 "retrieveDate": now_iso(), "retries": 1,
                                                 "retryInterval": 5})
            await rig.cs.expect("FirmwareStatusNotification", {"status": "DownloadFailed"}, 3)
        first, second = sorted(await fw_landed(files, 2), key=lambda t: t.started_mono_ns)
        assert (second.started_mono_ns - first.ended_mono_ns) / 1e9 < 1.0


@check("trigger_status_not_sent")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, keys=FW_PROFILES, faults={"trigger_status_not_sent"}) as rig:
        await asyncio.sleep(0.3)
        res = await rig.cs.call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                                   "connectorId": 1})
        assert res.get("status") == "Accepted"
        await asyncio.sleep(1.0)
        assert not [m for m in rig.cs.received("StatusNotification")
                    if m.mono_ns > res.sent_mono_ns]


@check("trigger_unknown_connector_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, keys=FW_PROFILES,
                           faults={"trigger_unknown_connector_accepted"}) as rig:
        res = await rig.cs.call("TriggerMessage", {"requestedMessage": "MeterValues",
                                                   "connectorId": 3})
        assert res.get("status") == "Accepted"


def _limit_profile(pid: int, stack: int, limit: float, **extra) -> dict:
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"chargingProfileId": pid, "stackLevel": stack,
            "chargingProfilePurpose": extra.pop("purpose", "TxDefaultProfile"),
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": start,
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]},
            **extra}


@check("limit_not_applied")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"limit_not_applied"},
                           station={"smart_charging": True}) as rig:
        await rig.charging(1)
        res = await rig.cs.call("SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": _limit_profile(1, 0, 10)})
        assert res.get("status") == "Accepted"
        await asyncio.sleep(0.5)
        assert rig.model.connector(1).current_a == 100.0  # the EV's request, not 10 A


@check("composite_ignores_stack_level")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"composite_ignores_stack_level"},
                           station={"smart_charging": True}) as rig:
        for pid, stack, limit in ((1, 0, 6), (2, 1, 5)):
            await rig.cs.call("SetChargingProfile", {
                "connectorId": 1, "csChargingProfiles": _limit_profile(pid, stack, limit)})
        res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 10})
        assert res.get("chargingSchedule")["chargingSchedulePeriod"][0]["limit"] == 6


@check("tx_profile_other_transaction_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"tx_profile_other_transaction_accepted"},
                           station={"smart_charging": True}) as rig:
        tx_id = await rig.charging(1)
        res = await rig.cs.call("SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": _limit_profile(
                1, 0, 6, purpose="TxProfile", transactionId=tx_id + 1)})
        assert res.get("status") == "Accepted"


@check("tx_profile_without_transaction_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"tx_profile_without_transaction_accepted"},
                           station={"smart_charging": True}) as rig:
        res = await rig.cs.call("SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": _limit_profile(
                1, 0, 6, purpose="TxProfile", transactionId=1)})
        assert res.get("status") == "Accepted"


@check("remote_start_any_profile_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"remote_start_any_profile_accepted"},
                           station={"smart_charging": True}) as rig:
        res = await rig.cs.call("RemoteStartTransaction", {
            "connectorId": 1, "idTag": VALID, "chargingProfile": _limit_profile(1, 0, 6)})
        assert res.get("status") == "Accepted"


@check("clear_profile_kept")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"clear_profile_kept"},
                           station={"smart_charging": True}) as rig:
        await rig.cs.call("SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": _limit_profile(1, 0, 6)})
        res = await rig.cs.call("ClearChargingProfile", {"id": 1})
        assert res.get("status") == "Accepted"
        res = await rig.cs.call("GetCompositeSchedule", {"connectorId": 1, "duration": 5})
        assert res.get("chargingSchedule")["chargingSchedulePeriod"][0]["limit"] == 6

# --- Security whitepaper (station config security_whitepaper = true) ---------------------
WHITEPAPER = {"security_whitepaper": True}
KEY_1, KEY_2 = b"bench-key-one-0001", b"bench-key-two-0002"


@check("password_not_applied")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"password_not_applied"}, station=WHITEPAPER,
                           basic_auth_key=KEY_1) as rig:
        generation = rig.cs.generation
        res = await rig.cs.call("ChangeConfiguration",
                                {"key": "AuthorizationKey", "value": KEY_2.hex()})
        assert res.get("status") == "Accepted"
        rig.cs.use_authorization_key(KEY_2)
        await wait_until(lambda: len(rig.cs.refusals()) >= 1, 5, "a refused reconnect")
        assert rig.cs.refusals()[-1].status == 401 and rig.cs.generation == generation
        rig.cs.use_authorization_key(KEY_1)  # let it in again for a clean power-off
        await rig.new_connection(generation)


@check("csr_short_key")
async def _(tmp: Path) -> None:
    from cryptography import x509

    async with station_rig(tmp, faults={"csr_short_key"}, station=WHITEPAPER) as rig:
        await rig.cs.call("ExtendedTriggerMessage",
                          {"requestedMessage": "SignChargePointCertificate"})
        msg = await rig.cs.expect("SignCertificate", within=5)
        assert x509.load_pem_x509_csr(msg.payload["csr"].encode()).public_key().key_size == 1024


@check("invalid_certificate_accepted")
async def _(tmp: Path) -> None:
    from bench.pki import BenchPki, pem_of

    pki = BenchPki.create(tmp / "pki")
    async with station_rig(tmp, faults={"invalid_certificate_accepted"},
                           station=WHITEPAPER) as rig:
        expired = pki.foreign_certificate("expired CA", ca=True, expired=True)
        res = await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate", "certificate": pem_of(expired)})
        assert res.get("status") == "Accepted"
        res = await rig.cs.call("CertificateSigned", {
            "certificateChain": pem_of(pki.foreign_certificate(STATION_ID))})
        assert res.get("status") == "Accepted"


@check("delete_sha256_only")
async def _(tmp: Path) -> None:
    from bench.pki import BenchPki, pem_of

    pki = BenchPki.create(tmp / "pki")
    async with station_rig(tmp, faults={"delete_sha256_only"}, station=WHITEPAPER) as rig:
        root = pki.extra_root("to delete")
        await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate", "certificate": pem_of(root)})
        res = await rig.cs.call("DeleteCertificate",
                                {"certificateHashData": pki.hash_data(root, "SHA384")})
        assert res.get("status") == "NotFound"


@check("security_log_not_uploaded")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"security_log_not_uploaded"}, station=WHITEPAPER) as rig:
        # nobody listens there: a conformant station reports UploadFailure
        res = await rig.cs.call("GetLog", {"logType": "SecurityLog", "requestId": 5,
                                           "log": {"remoteLocation": "http://127.0.0.1:9/up/"}})
        assert res.get("status") == "Accepted"
        await rig.cs.expect("LogStatusNotification", {"status": "Uploading"}, 5)
        await rig.cs.expect("LogStatusNotification", {"status": "Uploaded"}, 5)


@check("bad_signature_installed")
async def _(tmp: Path) -> None:
    from bench.files import FileService
    from bench.files.model import FilesConfig
    from bench.pki import BenchPki

    pki = BenchPki.create(tmp / "pki")
    async with station_rig(tmp, faults={"bad_signature_installed"}, station=WHITEPAPER) as rig:
        files = FileService(tmp / "files", rig.csms.record, FilesConfig())
        files.start(["HTTP"])
        try:
            url = files.publish("fw.bin", b"image")["HTTP"]
            await rig.cs.call("InstallCertificate", {
                "certificateType": "ManufacturerRootCertificate",
                "certificate": pki.pem("manufacturer_root")})
            res = await rig.cs.call("SignedUpdateFirmware", {"requestId": 1, "firmware": {
                "location": url, "retrieveDateTime": "2026-01-01T00:00:00Z",
                "signingCertificate": pki.pem("firmware_signer"),
                "signature": pki.sign_firmware(b"other bytes")}})
            assert res.get("status") == "Accepted"
            await rig.cs.expect("SignedFirmwareStatusNotification",
                                {"status": "SignatureVerified"}, 5)
        finally:
            files.stop()


@check("no_security_events")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_security_events"}, station=WHITEPAPER) as rig:
        res = await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate", "certificate": "not a PEM"})
        assert res.get("status") == "Rejected"
        await asyncio.sleep(0.5)
        assert not rig.cs.received("SecurityEventNotification")


@check("accepts_lower_profile")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"accepts_lower_profile"}, station=WHITEPAPER,
                           basic_auth_key=KEY_1) as rig:
        res = await rig.cs.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "0"})
        assert res.get("status") == "Accepted"


@check("falls_back_to_lower_profile")
async def _(tmp: Path) -> None:
    from bench.pki import BenchPki

    pki = BenchPki.create(tmp / "pki")
    async with station_rig(tmp, faults={"falls_back_to_lower_profile"}, station=WHITEPAPER,
                           basic_auth_key=KEY_1) as rig:
        rig.csms.serve_tls_too(pki.public_dir / "csms_server.pem",
                               pki.private_dir / "csms_server.key")
        await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate",
            "certificate": pki.pem("central_system_root")})
        res = await rig.cs.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})
        assert res.get("status") == "Accepted"
        rig.cs.raise_security_profile(2)
        generation = rig.cs.generation
        await rig.cs.call("Reset", {"type": "Hard"})
        await rig.new_connection(generation)
        assert rig.cs.handshakes[-1].tls  # raised to profile 2: back over TLS
        await rig.cs.disconnect(refuse_for=1.0)
        await wait_until(lambda: any(not h.tls for h in rig.cs.handshakes), 5,
                         "a plain connection attempt")

@check("keeps_old_certificate")
async def _(tmp: Path) -> None:
    from cryptography import x509
    from pki_support import make_pki

    from bench.pki import BenchPki

    tls = make_pki(tmp / "tls", {"csms": ("127.0.0.1", "127.0.0.1"),
                                 "station": (STATION_ID, None)})
    pki = BenchPki.create(tmp / "pki")
    async with station_rig(tmp, faults={"keeps_old_certificate"}, station=WHITEPAPER,
                           client_tls=tls) as rig:
        rig.csms.trust_station_ca(pki.pem("station_ca") + pki.pem("central_system_root"))
        await rig.cs.call("InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate",
            "certificate": pki.pem("central_system_root")})
        await rig.cs.call("ExtendedTriggerMessage",
                          {"requestedMessage": "SignChargePointCertificate"})
        csr = x509.load_pem_x509_csr((await rig.cs.expect("SignCertificate", within=5))
                                     .payload["csr"].encode())
        generation = rig.cs.generation
        res = await rig.cs.call("CertificateSigned",
                                {"certificateChain": pki.chain_pem(pki.sign_csr(csr))})
        assert res.get("status") == "Accepted"
        await rig.new_connection(generation)
        shown = x509.load_der_x509_certificate(
            rig.cs.link.transport.ssl_object.getpeercert(binary_form=True))
        assert shown.issuer != pki.cert("station_ca").subject  # the old one, from the rig

# -- Local Authorization List Management and Reservation (sim/station/localauth.py,
# reservation.py): a station with both profiles --------------------------------------------

PROFILES = {"local_auth_list": True, "reservation": True, "reserve_connector_zero": True}


def in_seconds(seconds: float) -> str:
    from datetime import timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def reserved(rig: Rig, connector: int = 1, tag: str = VALID, rid: int = 7,
                   expiry_s: float = 60) -> None:
    res = await rig.cs.call("ReserveNow", {"connectorId": connector, "idTag": tag,
                                           "reservationId": rid,
                                           "expiryDate": in_seconds(expiry_s)})
    assert res.get("status") == "Accepted", res.payload
    await rig.cs.expect("StatusNotification", {"connectorId": connector, "status": "Reserved"},
                        5)


@check("local_list_ignored")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"local_list_ignored"}, station=PROFILES,
                           keys={"LocalPreAuthorize": True}) as rig:
        res = await rig.cs.call("SendLocalList", {
            "listVersion": 1, "updateType": "Full",
            "localAuthorizationList": [{"idTag": VALID, "idTagInfo": {"status": "Accepted"}}]})
        assert res.get("status") == "Accepted"
        assert (await rig.cs.call("GetLocalListVersion", {})).get("listVersion") == 1
        rig.cards.tap(VALID)
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)  # listed, asked all the same


@check("version_mismatch_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"version_mismatch_accepted"}, station=PROFILES) as rig:
        entry = [{"idTag": VALID, "idTagInfo": {"status": "Accepted"}}]
        await rig.cs.call("SendLocalList", {"listVersion": 5, "updateType": "Full",
                                            "localAuthorizationList": entry})
        res = await rig.cs.call("SendLocalList", {"listVersion": 3, "updateType": "Differential",
                                                  "localAuthorizationList": entry})
        assert res.get("status") == "Accepted"
        assert (await rig.cs.call("GetLocalListVersion", {})).get("listVersion") == 3


@check("differential_replaces_list")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"differential_replaces_list"}, station=PROFILES,
                           keys={"LocalPreAuthorize": True}) as rig:
        ok = {"status": "Accepted"}
        await rig.cs.call("SendLocalList", {"listVersion": 1, "updateType": "Full",
                                            "localAuthorizationList": [
                                                {"idTag": VALID, "idTagInfo": ok}]})
        res = await rig.cs.call("SendLocalList", {
            "listVersion": 2, "updateType": "Differential",
            "localAuthorizationList": [{"idTag": VALID2, "idTagInfo": ok}]})
        assert res.get("status") == "Accepted"
        rig.cards.tap(VALID)  # no longer listed: asked online
        await rig.cs.expect("Authorize", {"idTag": VALID}, 5)


@check("reservation_other_tag_starts")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"reservation_other_tag_starts"},
                           station=PROFILES) as rig:
        await rig.cs.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
        await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Unavailable"}, 5)
        await reserved(rig)
        rig.cards.tap(VALID2)
        rig.plug(1)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start.payload["idTag"] == VALID2


@check("start_without_reservation_id")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"start_without_reservation_id"},
                           station=PROFILES) as rig:
        await reserved(rig)
        rig.cards.tap(VALID)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        rig.plug(1)
        start = await rig.cs.expect("StartTransaction", {"connectorId": 1}, 5)
        assert start.payload["idTag"] == VALID and "reservationId" not in start.payload


@check("reservation_never_expires")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"reservation_never_expires"}, station=PROFILES) as rig:
        await reserved(rig, expiry_s=0.5)
        with rig.cs.forbid("StatusNotification", {"connectorId": 1, "status": "Available"}):
            await asyncio.sleep(1.2)
        assert rig.sim.connectors[1].reserved


@check("reserve_occupied_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"reserve_occupied_accepted"}, station=PROFILES) as rig:
        rig.plug(1)
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 5)
        res = await rig.cs.call("ReserveNow", {"connectorId": 1, "idTag": VALID,
                                               "reservationId": 3, "expiryDate": in_seconds(60)})
        assert res.get("status") == "Accepted"


@check("differential_ignores_removal")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"differential_ignores_removal"}, station=PROFILES) as rig:
        ok = {"status": "Accepted"}
        await rig.cs.call("SendLocalList", {"listVersion": 1, "updateType": "Full",
                                            "localAuthorizationList": [
                                                {"idTag": VALID, "idTagInfo": ok}]})
        res = await rig.cs.call("SendLocalList", {"listVersion": 2, "updateType": "Differential",
                                                  "localAuthorizationList": [{"idTag": VALID}]})
        assert res.get("status") == "Accepted"
        assert rig.sim.local_list.lookup(VALID) == ok  # still listed


@check("empty_list_reports_version")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"empty_list_reports_version"}, station=PROFILES) as rig:
        await rig.cs.call("SendLocalList", {"listVersion": 4, "updateType": "Full"})
        assert (await rig.cs.call("GetLocalListVersion", {})).get("listVersion") == 4


@check("reservation_ignores_parent")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"reservation_ignores_parent"}, station=PROFILES) as rig:
        await rig.cs.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
        await rig.cs.expect("StatusNotification", {"connectorId": 2, "status": "Unavailable"}, 5)
        res = await rig.cs.call("ReserveNow", {"connectorId": 1, "idTag": VALID,
                                               "parentIdTag": "GROUP-A", "reservationId": 5,
                                               "expiryDate": in_seconds(60)})
        assert res.get("status") == "Accepted"
        await rig.cs.expect("StatusNotification", {"connectorId": 1, "status": "Reserved"}, 5)
        rig.cards.tap(MEMBER)  # GROUP-A, as the reservation's parentIdTag
        await rig.cs.expect("Authorize", {"idTag": MEMBER}, 5)
        with rig.cs.forbid("StatusNotification", {"connectorId": 1, "status": "Preparing"}):
            await asyncio.sleep(0.8)


@check("cancel_keeps_reservation")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"cancel_keeps_reservation"}, station=PROFILES) as rig:
        await reserved(rig, rid=8)
        res = await rig.cs.call("CancelReservation", {"reservationId": 8})
        assert res.get("status") == "Accepted"
        with rig.cs.forbid("StatusNotification", {"connectorId": 1, "status": "Available"}):
            await asyncio.sleep(0.8)
        assert rig.sim.connectors[1].reserved


@check("cancel_unknown_accepted")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"cancel_unknown_accepted"}, station=PROFILES) as rig:
        res = await rig.cs.call("CancelReservation", {"reservationId": 424242})
        assert res.get("status") == "Accepted"
# --- transport (TC_085..TC_088): what a reconnection's attempts offer ---------------------
def _p3_tls(tmp: Path) -> dict[str, Path]:
    from pki_support import make_pki

    return make_pki(tmp / "tls", {"csms": ("127.0.0.1", "127.0.0.1"),
                                  "station": (STATION_ID, None)})


async def _reconnection(rig) -> list:
    """Cut the connection; the handshakes up to the next accepted one."""
    generation, since = rig.cs.generation, time.monotonic_ns()
    await rig.cs.disconnect()
    await rig.new_connection(generation)
    return [h for h in rig.cs.handshakes if h.mono_ns >= since]


@check("basic_user_not_identity_on_reconnect")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"basic_user_not_identity_on_reconnect"},
                           basic_auth_key=KEY_1) as rig:
        assert rig.cs.handshakes[0].basic.user_is_identity  # the first connection is right
        first, *_, last = await _reconnection(rig)
        assert first.status == 403 and not first.basic.user_is_identity
        assert first.basic.user == "SMARTDC-SIM-0001" and first.basic.password_bytes == len(KEY_1)
        assert last.accepted and last.basic.user_is_identity


@check("accepts_any_server_certificate")
async def _(tmp: Path) -> None:
    from bench.pki import BenchPki

    untrusted = BenchPki.create(tmp / "pki").untrusted_server_files()
    async with station_rig(tmp, faults={"accepts_any_server_certificate"},
                           client_tls=_p3_tls(tmp)) as rig:
        rig.csms.use_server_certificate(*untrusted)
        seen = await _reconnection(rig)
        assert seen[-1].accepted and seen[-1].tls  # in, over the self-signed certificate
        assert seen[-1].client_cn == STATION_ID and not list(rig.csms.tls_refusals)


@check("no_client_certificate_on_reconnect")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_client_certificate_on_reconnect"},
                           client_tls=_p3_tls(tmp)) as rig:
        since = time.monotonic_ns()
        seen = await _reconnection(rig)
        refused = [r for r in rig.csms.tls_refusals if r.mono_ns >= since]
        assert [r.reason for r in refused] == ["no client certificate (profile 3 requires one)"]
        assert len(seen) == 1 and seen[0].client_cn == STATION_ID


@check("no_subprotocol_on_reconnect")
async def _(tmp: Path) -> None:
    async with station_rig(tmp, faults={"no_subprotocol_on_reconnect"}) as rig:
        assert rig.cs.handshakes[0].selected == "ocpp1.6"
        first, *_, last = await _reconnection(rig)
        assert first.status == 400 and first.offered == ()
        assert last.offered == ("ocpp1.6",) and last.selected == "ocpp1.6"


def test_every_fault_has_a_check_and_is_listed():
    assert set(CHECKS) == set(FAULTS)
    assert len(FAULTS) >= 10
    listing = format_faults().splitlines()
    assert [line.split()[0] for line in listing] == list(FAULTS)
    assert all(f.affects and f.description for f in FAULTS.values())


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_fault_is_visible_on_the_wire(tmp_path: Path, name: str):
    await CHECKS[name](tmp_path)


def test_unknown_fault_name_is_refused():
    from sim.model import RigModel
    from sim.station import StationConfig, StationSimulator

    with pytest.raises(ValueError, match="no_such_fault"):
        StationSimulator(StationConfig.smartdc(), RigModel(2), None, "ws://127.0.0.1:1/x",
                         faults={"no_such_fault"})

"""TC_037_2_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false
(catalogue §1.1 and §3.1; EVerest test_offline_start_transaction_restore).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=false; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> the transaction stays (no StopTransaction) but the energy stops:
StatusNotification(SuspendedEVSE) and no current (EV emulator; reference meter where it sits
on this connector); local stop with the same card -> StopTransaction (reason Local or absent).
"""

import asyncio
import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import expect, expect_status
from testplans.states import plug_in, swipe, transaction_id_of

pytestmark = pytest.mark.octt(
    "TC_037_2_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=false",
    requires=("offline_auth", "local_stop", "instrument:ev", "instrument:card",
              "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "false"},
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline start
WATCH_S = 2.0  # the de-authorised transaction is watched this long: it must stay
IDLE_W = 50.0  # reference meter: below this the output counts as off


async def current_flows(case, n: int, flowing: bool) -> int | None:
    """Poll the EV emulator's measured current until it flows (or stopped); its stamp."""
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline:
        if ((await case.bench.ev_state(n)).measured_current_a > 0.5) == flowing:
            return time.monotonic_ns()
        await asyncio.sleep(0.2)
    return None


async def test_tc_037_2_cs(case, station, bench):
    n, card = case.connector, case.card("unknown")
    if card.status == "Accepted":
        raise BenchFault(f"card {card.tag} must not be Accepted by the bench's CSMS")
    with case.step(f"network cut for {OFFLINE_S:g} s"):
        cut = await bench.cut_network(OFFLINE_S)
    with case.step(f"offline: plug in, present card {card.tag} (unknown to the CSMS)"):
        await plug_in(case, n)
        await swipe(case, card.tag)
        case.check(await current_flows(case, n, True) is not None,
                   "current to flow (transaction started offline, AllowOfflineTxForUnknownId)",
                   f"delivered no current within {case.timeout:g} s")
    if station.connected:
        raise BenchFault(f"the station was back online before the offline start was done "
                         f"(OFFLINE_S {OFFLINE_S:g} s too short)")
    with case.step("network restored: the queued StartTransaction is answered Invalid"):
        await bench.restore_network(reconnect_timeout_s=float(case.setting("boot_timeout_s")))
        start = await expect(case, "StartTransaction", {"connectorId": n, "idTag": card.uid},
                             after=cut)
        tx_id = await transaction_id_of(case, start)

    with case.step("the transaction stays, SuspendedEVSE, the energy stops"), \
            station.forbid("StopTransaction", {"transactionId": tx_id}):
        await expect(case, "StatusNotification", {"connectorId": n, "status": "SuspendedEVSE"},
                     after=start.mono_ns)
        stopped = await current_flows(case, n, False)
        case.check(stopped is not None, "the energy to stop (StartTransaction.conf Invalid)",
                   f"still delivered current {case.timeout:g} s after it")
        case.measure("deauthorized.energy_stop", (stopped - start.mono_ns) / 1e9,
                     evidence=[start.seq])
        if n in bench.meters:
            power = (await bench.meter_read(n)).power_w
            case.check(power < IDLE_W, f"reference meter below {IDLE_W:g} W",
                       f"still delivered {power:.0f} W")
        await asyncio.sleep(WATCH_S)
    case.passed(f"transaction {tx_id} kept (no StopTransaction) for {WATCH_S:g} s")

    with case.step(f"local stop: present card {card.tag} again"):
        before, _ = await swipe(case, card.tag)
        stop = await expect(case, "StopTransaction", {"transactionId": tx_id}, after=before)
        reason = stop.payload.get("reason", "Local")
        case.check(reason == "Local", "StopTransaction reason Local (or absent)",
                   f"sent reason {reason} (seq {stop.seq})")
        await expect_status(case, n, "Finishing", after=before)

"""TC_037_3_CS Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true
(catalogue §1.1 and §3.1; TZ test_tc_037_3_csms.py; EVerest ..._restore_flow).

AllowOfflineTxForUnknownId=true, StopTransactionOnInvalidId=true; NET−; PLUG and a card the
CSMS does not know: the transaction starts offline (current flows); NET+ -> StartTransaction,
answered Invalid -> StopTransaction (reason DeAuthorized) and StatusNotification(Finishing),
either order; the energy stops.
"""

import asyncio
import time

import pytest

from bench.plugin import BenchFault
from testplans.ocpp import expect, expect_any_order
from testplans.states import plug_in, swipe, transaction_id_of

pytestmark = pytest.mark.octt(
    "TC_037_3_CS", "Offline Start Transaction – Invalid IdTag, StopTransactionOnInvalidId=true",
    requires=("offline_auth", "instrument:ev", "instrument:card", "instrument:network"),
    config={"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "true"},
)

OFFLINE_S = 5.0  # the network stays down this long: time for the offline start


async def current_flows(case, n: int, flowing: bool) -> int | None:
    """Poll the EV emulator's measured current until it flows (or stopped); its stamp."""
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline:
        if ((await case.bench.ev_state(n)).measured_current_a > 0.5) == flowing:
            return time.monotonic_ns()
        await asyncio.sleep(0.2)
    return None


async def test_tc_037_3_cs(case, station, bench):
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

    with case.step("StopTransaction(reason DeAuthorized) and StatusNotification(Finishing)"):
        stop, _ = await expect_any_order(
            case, ("StopTransaction", {"transactionId": tx_id}),
            ("StatusNotification", {"connectorId": n, "status": "Finishing"}),
            after=start.mono_ns)
        reason = stop.payload.get("reason", "Local")
        case.check(reason == "DeAuthorized", "StopTransaction reason DeAuthorized",
                   f"sent reason {reason} (seq {stop.seq})")
        case.check(await current_flows(case, n, False) is not None,
                   "the energy to stop (transaction de-authorised)",
                   f"still delivered current {case.timeout:g} s after the StopTransaction")
    case.measure("deauthorized.stop", (stop.mono_ns - start.mono_ns) / 1e9,
                 evidence=[start.seq, stop.seq])

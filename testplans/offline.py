"""Steps the offline cases share (TC_037_x, TC_038, TC_039): NET−, the EV current as the sign
that a transaction started or stopped while the CSMS cannot see it, NET+ and the offline window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from bench.plugin import BenchFault, Case
from testplans.ocpp import bench_utc_at, expect, station_time
from testplans.states import plug_in, swipe, transaction_id_of


async def current_flows(case: Case, n: int, flowing: bool) -> int | None:
    """Poll the EV emulator's measured current until it flows (or stopped); its stamp."""
    deadline = time.monotonic() + case.timeout
    while time.monotonic() < deadline:
        if ((await case.bench.ev_state(n)).measured_current_a > 0.5) == flowing:
            return time.monotonic_ns()
        await asyncio.sleep(0.2)
    return None


async def cut_network(case: Case, offline_s: float) -> int:
    """NET− for `offline_s`; returns the cut's stamp (queued messages come after it)."""
    with case.step(f"network cut for {offline_s:g} s"):
        return await case.bench.cut_network(offline_s)


async def start_offline(case: Case, card: Any, *, unknown: bool = False) -> None:
    """Offline: PLUG and `card`; the transaction starts (current flows). `unknown`: the CSMS
    does not know the card, the station starts through AllowOfflineTxForUnknownId."""
    n = case.connector
    if unknown:
        step = f"offline: plug in, present card {card.tag} (unknown to the CSMS)"
        expected = "current to flow (transaction started offline, AllowOfflineTxForUnknownId)"
    else:
        step = f"offline: plug in, present card {card.tag}: the transaction starts"
        expected = "current to flow (transaction started offline)"
    with case.step(step):
        await plug_in(case, n)
        await swipe(case, card.tag)
        case.check(await current_flows(case, n, True) is not None, expected,
                   f"delivered no current within {case.timeout:g} s")


def check_still_offline(case: Case, what: str, offline_s: float) -> None:
    """The offline steps must end before the network comes back, or they proved nothing."""
    if case.station.connected:
        raise BenchFault(f"the station was back online before the {what} was done "
                         f"(OFFLINE_S {offline_s:g} s too short)")


def measure_offline_detection(case: Case) -> None:
    """network.offline_detection of the last cut: when the station was seen to notice it (the
    network driver says on what that rests: a SYN after a silent drop, or a refused
    reconnect after a clean close)."""
    seen = case.bench.offline_detection()
    if seen is not None:
        case.measure("network.offline_detection", seen.seconds, description=seen.basis)


async def restore_network(case: Case) -> dt.datetime:
    """NET+: waits for the station to reconnect; returns the bench's UTC time of it."""
    await case.bench.restore_network(reconnect_timeout_s=float(case.setting("boot_timeout_s")))
    measure_offline_detection(case)
    return bench_utc_at(case.station.connected_mono_ns)


async def reconnected(case: Case, what: str, offline_s: float) -> dt.datetime:
    """The offline `what` is done while still offline; NET+ and the station reconnects."""
    check_still_offline(case, what, offline_s)
    with case.step("network restored: the station reconnects"):
        return await restore_network(case)


def check_in_offline_window(case: Case, msg: Any, action: str, back_online: dt.datetime) -> None:
    """A queued message's timestamp is from the offline time, not from the reconnect."""
    stamp = station_time(msg.payload.get("timestamp", ""))
    slack = float(case.setting("max_time_deviation_s"))
    case.check(stamp is not None and (stamp - back_online).total_seconds() <= slack,
               f"the {action} timestamp in the offline window",
               f"sent {msg.payload.get('timestamp')} (reconnected at "
               f"{back_online.isoformat()})")


async def unknown_card_started_offline(case: Case, offline_s: float) -> tuple[Any, Any, int]:
    """TC_037_2/3: NET−; PLUG and the card the CSMS does not know start a transaction offline;
    NET+ -> the queued StartTransaction, answered Invalid. Returns (card, start, tx id)."""
    n, card = case.connector, case.card("unknown")
    if card.status == "Accepted":
        raise BenchFault(f"card {card.tag} must not be Accepted by the bench's CSMS")
    cut = await cut_network(case, offline_s)
    await start_offline(case, card, unknown=True)
    check_still_offline(case, "offline start", offline_s)
    with case.step("network restored: the queued StartTransaction is answered Invalid"):
        await restore_network(case)
        start = await expect(case, "StartTransaction", {"connectorId": n, "idTag": card.id_tag},
                             after=cut)
        tx_id = await transaction_id_of(case, start)
    return card, start, tx_id

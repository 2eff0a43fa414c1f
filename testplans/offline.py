"""Steps the offline cases share (TC_037_x, TC_038, TC_039): NET−, the output current as the
sign that a transaction started or stopped while the CSMS cannot see it (an inference: the
station reports nothing while offline), NET+ and the offline window (setting
`offline_window_s`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.plugin import BenchFault, Case
from testplans.ocpp import bench_utc_at, expect, station_time
from testplans.states import check_current, plug_in, swipe, transaction_id_of


def offline_window_s(case: Case) -> float:
    """How long the network stays down (setting `offline_window_s`)."""
    return float(case.setting("offline_window_s"))


async def cut_network(case: Case, offline_s: float | None = None) -> int:
    """NET− for `offline_s` (default: the offline window); returns the cut's stamp (queued
    messages come after it)."""
    seconds = offline_window_s(case) if offline_s is None else offline_s
    with case.step(f"network cut for {seconds:g} s"):
        return await case.bench.cut_network(seconds)


async def start_offline(case: Case, card: Any, *, unknown: bool = False) -> None:
    """Offline: PLUG and `card`; the transaction starts (current flows). `unknown`: the CSMS
    does not know the card, the station starts through AllowOfflineTxForUnknownId."""
    n = case.connector
    if unknown:
        step = f"offline: plug in, present card {card.tag} (unknown to the CSMS)"
        why = "the transaction started offline, AllowOfflineTxForUnknownId"
    else:
        step = f"offline: plug in, present card {card.tag}: the transaction starts"
        why = "the transaction started offline"
    with case.step(step):
        await plug_in(case, n)
        await swipe(case, card.tag)
        await check_current(case, n, True, "of the card", why)


def check_still_offline(case: Case, what: str) -> None:
    """The offline steps must end before the network comes back, or they proved nothing."""
    if case.station.connected:
        raise BenchFault(f"the station was back online before the {what} was done (setting "
                         f"offline_window_s = {offline_window_s(case):g} s is too short for "
                         "this rig)")


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


async def reconnected(case: Case, what: str) -> dt.datetime:
    """The offline `what` is done while still offline; NET+ and the station reconnects."""
    check_still_offline(case, what)
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


async def unknown_card_started_offline(case: Case) -> tuple[Any, Any, int]:
    """TC_037_2/3: NET−; PLUG and the card the CSMS does not know start a transaction offline;
    NET+ -> the queued StartTransaction, answered Invalid. Returns (card, start, tx id)."""
    n, card = case.connector, case.card("unknown")
    if card.status == "Accepted":
        raise BenchFault(f"card {card.tag} must not be Accepted by the bench's CSMS")
    cut = await cut_network(case)
    await start_offline(case, card, unknown=True)
    check_still_offline(case, "offline start")
    with case.step("network restored: the queued StartTransaction is answered Invalid"):
        await restore_network(case)
        start = await expect(case, "StartTransaction", {"connectorId": n, "idTag": card.id_tag},
                             after=cut)
        tx_id = await transaction_id_of(case, start)
    return card, start, tx_id

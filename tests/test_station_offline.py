"""Offline behaviour of the simulated station: queueing, retries, offline authorization."""

from __future__ import annotations

import itertools
from pathlib import Path

from test_station_support import INVALID, UNKNOWN, VALID, station_rig, wait_until

from bench.csms import CallErrorReply, NoReply


async def test_transaction_messages_queued_offline_arrive_in_order(tmp_path: Path):
    async with station_rig(tmp_path, keys={"MeterValueSampleInterval": 1}) as rig:
        tx_id = await rig.charging(1)
        await rig.cs.disconnect(refuse_for=2.5)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        await wait_until(lambda: len(rig.sim.txq) >= 2, 6, "two queued MeterValues")
        rig.cards.tap(VALID)  # local stop while offline
        await wait_until(lambda: rig.sim.connectors[1].tx is None, 5, "local stop")
        await rig.cs.wait_reconnected(10)
        stop = await rig.cs.expect("StopTransaction", {"transactionId": tx_id}, 10)
        assert stop.payload["reason"] == "Local"
        queued = [m for m in rig.cs.received("MeterValues") if m.mono_ns < stop.mono_ns]
        stamps = [m.payload["meterValue"][0]["timestamp"] for m in queued]
        assert len(stamps) >= 2 and stamps == sorted(stamps)
        assert all(m.payload["transactionId"] == tx_id for m in queued)


async def test_offline_transaction_is_sent_after_reconnect(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.5)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.plug(1)
        rig.cards.tap(UNKNOWN)  # AllowOfflineTxForUnknownId = true
        await wait_until(lambda: rig.sim.connectors[1].tx is not None, 5, "offline start")
        await wait_until(lambda: rig.model.connector(1).current_a > 0, 5, "energy offline")
        rig.cards.tap(UNKNOWN)
        await wait_until(lambda: rig.sim.connectors[1].tx is None, 5, "offline stop")
        await rig.cs.wait_reconnected(10)
        start = await rig.cs.expect("StartTransaction", {"idTag": UNKNOWN}, 10)
        stop = await rig.cs.expect("StopTransaction", within=10)
        assert start.mono_ns < stop.mono_ns and stop.payload["reason"] == "Local"
        assert stop.payload["meterStop"] > start.payload["meterStart"]
        given = rig.cs.session.transaction_started_by(start.seq)
        assert given is not None and stop.payload["transactionId"] == given.transaction_id
        assert rig.cs.session.finished_transactions()[-1] is given


async def test_offline_start_with_invalid_tag_is_deauthorized(tmp_path: Path):
    async with station_rig(tmp_path) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.5)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.plug(1)
        rig.cards.tap(INVALID)
        await wait_until(lambda: rig.sim.connectors[1].tx is not None, 5, "offline start")
        await rig.cs.wait_reconnected(10)
        await rig.cs.expect("StartTransaction", {"idTag": INVALID}, 10)
        stop = await rig.cs.expect("StopTransaction", within=10)
        assert stop.payload["reason"] == "DeAuthorized"


async def test_invalid_tag_suspends_when_stop_on_invalid_id_is_false(tmp_path: Path):
    keys = {"StopTransactionOnInvalidId": False}
    async with station_rig(tmp_path, keys=keys) as rig:
        await rig.cs.expect("StatusNotification", {"connectorId": 2}, 5)
        await rig.cs.disconnect(refuse_for=1.5)
        await wait_until(lambda: rig.sim.link is None, 5, "the station to see the cut")
        rig.plug(1)
        rig.cards.tap(INVALID)
        await wait_until(lambda: rig.model.connector(1).current_a > 0, 5, "energy offline")
        await rig.cs.wait_reconnected(10)
        with rig.cs.forbid("StopTransaction"):
            await rig.cs.expect("StartTransaction", {"idTag": INVALID}, 10)
            await rig.cs.expect("StatusNotification",
                                {"connectorId": 1, "status": "SuspendedEVSE"}, 5)
            assert rig.model.connector(1).current_a == 0
        rig.cards.tap(INVALID)
        stop = await rig.cs.expect("StopTransaction", within=5)
        assert stop.payload["reason"] == "Local"


def failing_then_ok(failures: int, failure):
    """A StartTransaction responder failing `failures` times, then accepting."""
    count = {"n": 0, "ids": iter(range(500, 600))}

    def answer(payload):
        count["n"] += 1
        if count["n"] <= failures:
            return failure
        return {"transactionId": next(count["ids"]), "idTagInfo": {"status": "Accepted"}}

    return answer


async def test_transaction_message_retried_with_growing_interval(tmp_path: Path):
    keys = {"TransactionMessageAttempts": 3, "TransactionMessageRetryInterval": 1}
    answers = failing_then_ok(2, CallErrorReply("InternalError", "bench says no"))
    async with station_rig(tmp_path, keys=keys,
                           overrides={"StartTransaction": answers}) as rig:
        rig.plug(1)
        rig.cards.tap(VALID)
        sends = [await rig.cs.expect("StartTransaction", within=6) for _ in range(3)]
        gaps = [(b.mono_ns - a.mono_ns) / 1e9 for a, b in itertools.pairwise(sends)]
        assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps
        await wait_until(lambda: rig.sim.connectors[1].tx.id == 500, 5, "transaction id 500")


async def test_unanswered_transaction_message_is_given_up_after_the_attempts(tmp_path: Path):
    keys = {"TransactionMessageAttempts": 2, "TransactionMessageRetryInterval": 1}
    answers = failing_then_ok(99, NoReply())
    async with station_rig(tmp_path, keys=keys, station={"call_timeout_s": 1.0},
                           overrides={"StartTransaction": answers}) as rig:
        rig.plug(1)
        rig.cards.tap(VALID)
        await rig.cs.expect("StartTransaction", within=5)
        await rig.cs.expect("StartTransaction", within=5)
        await wait_until(lambda: len(rig.sim.txq) == 0, 5, "the message dropped")
        assert len(rig.cs.received("StartTransaction")) == 0

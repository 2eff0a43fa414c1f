"""BENCH_TX_RETRY Transaction message retry (bench measurement; docs/catalogue.md; OCPP 1.6
§9.1 TransactionMessageAttempts / TransactionMessageRetryInterval: the wait before a resend is
the interval x the sends so far).

TransactionMessageAttempts=N, TransactionMessageRetryInterval=I. The bench answers
StartTransaction with a CALLERROR N-1 times, then accepts it: the station must resend it after
1×I, 2×I, ... Then it answers every StopTransaction with a CALLERROR: the station must resend
it after 1×I, 2×I, ... and give up after N sends in total (no further StopTransaction).
Each wait (CALLERROR -> the next send) is measured against k×I.
"""

import asyncio

import pytest

from bench.csms import CallErrorReply
from testplans.ocpp import check_answer, expect, intervals_s
from testplans.states import plugged_preparing, swipe, transaction_id_of

pytestmark = pytest.mark.octt(
    "BENCH_TX_RETRY", "Transaction message retry",
    requires=("instrument:ev", "instrument:card"),
    config={"TransactionMessageAttempts": "3", "TransactionMessageRetryInterval": "2",
            "MeterValueSampleInterval": "0", "ClockAlignedDataInterval": "0"},
)
_CONFIG = pytestmark.kwargs["config"]  # literals: `bench run` reads the marker from the source
ATTEMPTS = int(_CONFIG["TransactionMessageAttempts"])  # sends in total ("how often to try")
RETRY_INTERVAL_S = int(_CONFIG["TransactionMessageRetryInterval"])


def failing(station, action: str, errors: int | None):
    """Answer `action` with a CALLERROR `errors` times (None: always), then the default."""
    count = 0

    def reply(_payload):
        nonlocal count
        count += 1
        if errors is not None and count >= errors:
            station.responders.reset(action)  # the next one gets the bench's default answer
        return CallErrorReply("InternalError", f"bench: {action} not processed (retry test)")

    station.responders.override(action, reply)


async def sends(case, action: str, match, first, count: int) -> list:
    """`first` and the next count-1 sends of `action`, each after its k×I wait."""
    got = [first]
    for k in range(1, count):
        wait_s = k * RETRY_INTERVAL_S
        try:
            msg = await expect(case, action, match, after=got[-1].mono_ns + 1,
                               within=2 * wait_s + case.timeout)
        except TimeoutError:
            case.check(False, f"{action} resent {wait_s:g} s (attempt {k} x "
                       f"TransactionMessageRetryInterval {RETRY_INTERVAL_S} s) after the "
                       f"CALLERROR to send {k} (TransactionMessageAttempts {ATTEMPTS})",
                       f"did not resend it within {2 * wait_s + case.timeout:g} s")
        got.append(msg)
    return got


def measure_waits(case, action: str, msgs: list) -> None:
    waits = intervals_s(msgs)
    evidence = [m.seq for m in msgs]
    case.measure(f"tx_retry.wait.{action}", series=waits, evidence=evidence)
    case.measure(f"tx_retry.wait_error.{action}",
                 series=[abs(w - (k + 1) * RETRY_INTERVAL_S) for k, w in enumerate(waits)],
                 evidence=evidence)


async def test_bench_tx_retry(case, station):
    n, card = case.connector, case.card()
    failing(station, "StartTransaction", ATTEMPTS - 1)
    await plugged_preparing(case, n)
    with case.step(f"present card {card.tag}: StartTransaction answered CALLERROR "
                   f"{ATTEMPTS - 1} time(s), then accepted"):
        before, _ = await swipe(case, card.tag)
        auth = await expect(case, "Authorize", {"idTag": card.id_tag}, after=before)
        first = await expect(case, "StartTransaction", {"connectorId": n}, after=auth.mono_ns)
        starts = await sends(case, "StartTransaction", {"connectorId": n}, first, ATTEMPTS)
        for s in starts[1:]:
            case.check(s.payload == first.payload, "the resent StartTransaction unchanged",
                       f"changed it: {s.payload} (seq {s.seq}) vs {first.payload}")
        tx_id = await transaction_id_of(case, starts[-1])
        await expect(case, "StatusNotification", {"connectorId": n, "status": "Charging"},
                     after=auth.mono_ns)
        await asyncio.sleep(0.5)  # the station takes in StartTransaction.conf (its id)
    measure_waits(case, "StartTransaction", starts)

    failing(station, "StopTransaction", None)
    with case.step(f"RemoteStopTransaction({tx_id}); every StopTransaction answered CALLERROR"):
        res = await station.call("RemoteStopTransaction", {"transactionId": tx_id})
        check_answer(case, res, "Accepted", "RemoteStopTransaction")
        first = await expect(case, "StopTransaction", {"transactionId": tx_id},
                             after=res.sent_mono_ns)
        stops = await sends(case, "StopTransaction", {"transactionId": tx_id}, first, ATTEMPTS)
    measure_waits(case, "StopTransaction", stops)
    quiet_s = ATTEMPTS * RETRY_INTERVAL_S + 2 * float(case.setting("interval_tolerance_s")) + 0.5
    with case.step(f"no send beyond TransactionMessageAttempts {ATTEMPTS} "
                   f"(watched {quiet_s:g} s)"), \
            station.forbid("StopTransaction", {"transactionId": tx_id}):
        await asyncio.sleep(quiet_s)
    station.responders.reset("StopTransaction")

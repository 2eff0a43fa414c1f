"""Steps of the Remote Trigger cases: a TriggerMessage and the message it asks for, timed
(OCPP 1.6 §5.17; the PICS "OCPP triggered function timeout" names TriggerMessage -> the
requested message)."""

from __future__ import annotations

from typing import Any

from bench.plugin import Case
from testplans.ocpp import check_answer, expect

IDLE_ONLY = ("DiagnosticsStatusNotification", "FirmwareStatusNotification")


async def request_and_receive(case: Case, what: str, connector: int | None,
                              samples: list[float], evidence: list[int], *,
                              connectors: list[int] | None = None, call: Any = None) -> None:
    """TriggerMessage(what[, connector]) -> Accepted (unless `call` is the answered one), then
    `what` per connector in `connectors` (one message when None), each within the
    triggered-function timeout; the time of each is a sample of `triggered.trigger_message`."""
    if call is None:
        payload: dict[str, Any] = {"requestedMessage": what}
        if connector is not None:
            payload["connectorId"] = connector
        call = await case.station.call("TriggerMessage", payload)
        check_answer(case, call, "Accepted", "TriggerMessage")
    for n in connectors or [None]:
        match = {"connectorId": n} if n is not None else None
        msg = await expect(case, what, match, after=call.sent_mono_ns,
                           trigger=f"the TriggerMessage({what}) (seq {call.frame_seqs[0]})")
        seconds = (msg.mono_ns - call.sent_mono_ns) / 1e9
        samples.append(seconds)
        evidence.append(msg.seq)
        case.collect("triggered.trigger_message", seconds, evidence=[call.frame_seqs[0], msg.seq])
        if what in IDLE_ONLY:
            status = msg.payload.get("status")
            case.check(status == "Idle", f"{what} status Idle (nothing in progress)",
                       f"sent status {status} (seq {msg.seq})", at=msg.mono_ns)

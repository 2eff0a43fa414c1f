"""The CSMS endpoint of the bench: websocket server, OCPP-J framing, station sessions.

    csms = Csms.from_rig(rig, record, port=0)      # or Csms(CsmsSettings(...), record)
    await csms.start(); csms.url                    # station URL = csms.url + "/<id>"
    station = await csms.wait_for_station("CP1", timeout=60, boot=True)
    res = await station.call("RemoteStartTransaction", {"idTag": "04A1"})  # CallResult
    msg = await station.expect("StatusNotification", match={"status": "Charging"}, within=30)
    with station.forbid("StartTransaction"): ...     # ForbiddenMessage at the end of the block
    station.responders.override("BootNotification", lambda p: {...}); station.responders.reset()
    await station.disconnect(refuse_for=10); await station.wait_reconnected(60)
    await csms.stop()

Modules: settings (CsmsSettings, from a rig), handshake (who may connect), framing (OCPP-J
parse/serialise), schemas (OCPP 1.6 JSON schemas -> CALLERROR codes), receiver (the receive
loop: stamp, validate, answer, record), station (the session API), windows (expect/forbid),
responders (default answers and overrides), server (Csms).
"""

from bench.csms.errors import (
    CallTimeout,
    CsmsError,
    ExpectTimeout,
    ForbiddenMessage,
    InvalidOutgoingPayload,
    StationGone,
)
from bench.csms.messages import (
    CallErrorInfo,
    CallErrorReply,
    CallResult,
    Delayed,
    NoReply,
    Received,
)
from bench.csms.server import Csms
from bench.csms.settings import CardInfo, CsmsSettings, key_from_hex, settings_from_rig
from bench.csms.station import Station, Transaction

__all__ = [
    "CallErrorInfo", "CallErrorReply", "CallResult", "CallTimeout", "CardInfo", "Csms",
    "CsmsError", "CsmsSettings", "Delayed", "ExpectTimeout", "ForbiddenMessage",
    "InvalidOutgoingPayload", "NoReply", "Received", "Station", "StationGone", "Transaction",
    "key_from_hex", "settings_from_rig",
]

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

Layers, each importing only those below it:
  server       Csms: listens, decides who may connect (handshake, identity, secrets), records
               every handshake, wires each accepted link to its station's session
  receiver     the one place a frame is parsed, validated, answered and recorded
  station      the session API of one identity (call, expect, forbid, disconnect) and the
               port the receiver feeds; session: the one picture of what the station does,
               with typed events; windows, responders, matching, errors, messages
  connection   websockets' sans-I/O protocol over the bench's own transport; transport and
               listener: non-blocking sockets, kernel receive stamps (stamps), TLS in memory
  protocol     what an OCPP version offers (OcppVersion); ocpp16/ is OCPP 1.6-J (catalogue,
               framing, schemas); versions: which subprotocol selects which version
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
from bench.csms.session import SessionState, Transaction
from bench.csms.settings import CardInfo, CsmsSettings, key_from_hex, settings_from_rig
from bench.csms.station import Station

__all__ = [
    "CallErrorInfo", "CallErrorReply", "CallResult", "CallTimeout", "CardInfo", "Csms",
    "CsmsError", "CsmsSettings", "Delayed", "ExpectTimeout", "ForbiddenMessage",
    "InvalidOutgoingPayload", "NoReply", "Received", "SessionState", "Station", "StationGone",
    "Transaction",
    "key_from_hex", "settings_from_rig",
]

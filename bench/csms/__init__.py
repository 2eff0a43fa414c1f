"""The CSMS endpoint of the bench: websocket server, OCPP-J framing, station sessions."""

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

"""A minimal central system written with the `ocpp` package, as its documentation shows it.

The comparison point of bench_scale.py: subclass `ocpp.v16.ChargePoint`, one `@on(...)`
handler per action returning `call_result.*`, `websockets.serve(..., subprotocols=["ocpp1.6"])`
and `await cp.start()` per connection. Schema validation is the package's default (on, both
the request and the answer; run in the default thread pool). Nothing is recorded or stamped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class CentralSystemChargePoint(ChargePoint):
    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                             **kwargs: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=_now(), interval=300,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list,
                        **kwargs: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.status_notification)
    def on_status_notification(self, connector_id: int, error_code: str, status: str,
                               **kwargs: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **kwargs: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))


async def on_connect(ws: ServerConnection) -> None:
    charge_point_id = ws.request.path.strip("/").split("/")[-1]  # type: ignore[union-attr]
    cp = CentralSystemChargePoint(charge_point_id, ws)
    try:
        await cp.start()
    except ConnectionClosed:
        pass


async def start_server(host: str = "127.0.0.1", port: int = 0) -> Server:
    """Same websocket settings as the bench's endpoint under load: no pings, no size games."""
    return await serve(on_connect, host, port, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                       ping_interval=None)

"""Bench verbs and safe state in-process, against the twins on one model.

The rig is rigs/sim.toml pointed (with_ports) at twins started here on port 0, plus a tiny
vpcd stand-in that asks the card for its ATR like vpcd does.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.config.rig import Rig, load_rig
from bench.record.reader import load_run
from bench.record.writer import RunRecord
from bench.safestate import bring_to_safe_state
from bench.verbs import Bench, BenchBroken, BenchConfigError
from instruments.errors import InstrumentError
from sim.model import RigModel
from sim.twins.ev import EvTwin, MainsTwin
from sim.twins.meter import MeterTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import load_register_map as twin_map

ROOT = Path(__file__).resolve().parent.parent


class FakeVpcd:
    """Accepts a card connection and asks for its ATR (what vpcd's presence poll does)."""

    def __init__(self) -> None:
        self.connected = 0
        self.open = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected += 1
        self.open += 1
        try:
            writer.write(struct.pack(">HB", 1, 0x04))
            await writer.drain()
            await reader.read()  # until the card leaves
        except ConnectionError:
            pass
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


@dataclass
class Twins:
    model: RigModel
    modbus: ModbusTwinServer
    meter: MeterTwin
    vpcd: FakeVpcd
    rig: Rig
    record: RunRecord


@pytest.fixture
async def twins(tmp_path: Path) -> AsyncIterator[Twins]:
    model = RigModel(connectors=2)
    regmap = twin_map("bench-ev-v1")
    modbus = ModbusTwinServer({1: EvTwin(model, 1, regmap), 2: EvTwin(model, 2, regmap),
                               10: MainsTwin(model)}, port=0)
    meter = MeterTwin(model, 1, port=0)
    vpcd = FakeVpcd()
    await modbus.start()
    await meter.start()
    await vpcd.start()
    rig = load_rig(ROOT / "rigs" / "sim.toml").with_ports({
        "modbus": {"host": "127.0.0.1", "port": modbus.port},
        "scpi": {"host": "127.0.0.1", "port": meter.port, "resource": meter.resource},
        "vpcd": {"host": "127.0.0.1", "port": vpcd.port},
    })
    record = RunRecord.create(tmp_path, "safe-state")
    try:
        yield Twins(model, modbus, meter, vpcd, rig, record)
    finally:
        record.close()
        await vpcd.stop()
        await meter.stop()
        await modbus.stop()


async def charging_bench(t: Twins) -> Bench:
    bench = Bench.from_rig(t.rig, t.record)
    await bench.activate()
    await bench.plug_in(1)
    await bench.ev_start_charging(1, current_a=100, voltage_v=400)
    await bench.present_card("valid")
    await bench.energy_window_start(1)
    return bench


def events(t: Twins, kind: str) -> list[dict]:
    return [e for e in load_run(t.record.path).events if e["kind"] == kind]


async def test_verbs_command_read_back_and_record(twins: Twins) -> None:
    bench = Bench.from_rig(twins.rig, twins.record)
    identities = await bench.activate()
    assert {i["name"] for i in identities} == {"ev1", "ev2", "meter", "card", "mains", "network"}
    snap = load_run(twins.record.path).snapshots["instruments"]
    assert any(i["identity"] == "BENCHSIM,PM-SIM,SIM0001,1.0" for i in snap)
    assert not [e for e in events(twins, "log") if e["name"] == "rig-lacks"]  # lacks nothing

    stamp = await bench.plug_in(1)
    assert isinstance(stamp, int)
    c1 = twins.model.connector(1)
    assert c1.plugged and c1.cp_request == "B"
    await bench.ev_start_charging(1, current_a=80, voltage_v=420)
    assert c1.allow_power and c1.cp_request == "C" and c1.requested_current_a == 80
    await bench.ev_pause(1)
    assert c1.pause
    await bench.ev_resume(1)
    await bench.inject_fault("state_e", 1)
    assert c1.force_e
    await bench.inject_fault("state_e", 1, on=False)
    await bench.ev_stop(1)
    assert c1.stop_request and not c1.allow_power and c1.cp_request == "B"
    await bench.unplug(1)
    assert not c1.plugged and c1.cp_request == "A" and c1.requested_current_a == 0
    shown = await bench.present_card("valid", hold_s=0.05)
    assert twins.vpcd.connected == 1
    await asyncio.sleep(0.05)
    assert twins.vpcd.open == 0  # held 50 ms, then taken away
    await bench.power_off()
    assert twins.model.mains_on is False
    await bench.power_cycle(off_s=0.01)
    assert twins.model.mains_on is True
    await bench.energy_window_start()
    await bench.energy_window_stop()
    assert await bench.energy_window_read() == 0.0
    with pytest.raises(BenchConfigError, match="no EV emulator on connector 3"):
        await bench.plug_in(3)
    await bench.deactivate()

    verbs = {e["name"]: e for e in events(twins, "verb")}
    plug = verbs["plug_in"]
    # the verb returns, and is placed at, the stamp taken before its command was issued; the
    # instrument's confirmation comes after it, so a latency from the stamp is never negative
    assert plug["mono_ns"] == stamp == plug["detail"]["issued_mono_ns"]
    assert plug["detail"]["started_mono_ns"] <= stamp < plug["detail"]["confirmed_mono_ns"]
    assert plug["detail"]["confirm_ms"] > 0
    assert plug["detail"]["commanded"] == {"connector": 1, "plugged": 1, "cp": "B"}
    assert plug["detail"]["readback"]["plugged"] is True
    assert plug["detail"]["readback"]["cp_request"] == "B"
    assert verbs["present_card"]["mono_ns"] == shown
    assert verbs["present_card"]["detail"]["commanded"]["uid"] == "04A1B2C3D4E5F6"
    assert verbs["power_on"]["detail"]["readback"] == {"mains_on": True}
    assert verbs["energy_window_stop"]["detail"]["readback"]["state"] == "STOP"


async def test_safe_state_after_charging(twins: Twins) -> None:
    bench = await charging_bench(twins)
    c1 = twins.model.connector(1)
    assert c1.allow_power and c1.plugged
    assert twins.vpcd.open == 1
    report = await bring_to_safe_state(bench)
    assert report.ok, report.failed
    for c in twins.model.connectors:
        assert not c.plugged and c.cp_request == "A"
        assert not c.allow_power and c.requested_current_a == 0
    await asyncio.sleep(0.05)
    assert twins.vpcd.open == 0
    assert twins.meter.int_state == "STOP"
    await bench.deactivate()
    steps = {e["name"]: e["detail"] for e in events(twins, "safe_state")}
    assert steps["ev1.unplugged"]["ok"] is True
    assert steps["ev1.unplugged"]["readback"]["plugged"] is False
    assert steps["card.removed"]["readback"] == {"presented": None}
    assert steps["meter.integrator_stopped"]["readback"] == {"state": "STOP"}
    assert steps["done"]["ok"] is True


async def test_failing_step_does_not_skip_the_others(twins: Twins) -> None:
    bench = await charging_bench(twins)
    twins.meter.faults.no_answer = True  # the meter falls silent
    bench.meters[1].session.timeout_s = 0.3
    report = await bring_to_safe_state(bench, step_timeout_s=2.0)
    assert not report.ok
    assert [s.step for s in report.failed] == ["meter.integrator_stopped"]
    failed = report.failed[0]
    assert f"meter at {twins.meter.resource}" in (failed.error or "")
    c1 = twins.model.connector(1)
    assert not c1.plugged and not c1.allow_power  # EV steps ran anyway
    steps = {e["name"]: e["detail"] for e in events(twins, "safe_state")}
    assert steps["meter.integrator_stopped"]["ok"] is False
    assert steps["card.removed"]["ok"] is True
    assert steps["done"]["failed"] == ["meter.integrator_stopped"]
    twins.meter.faults.no_answer = False
    await bench.deactivate()


async def test_broken_instrument_turns_later_verbs_into_errors(twins: Twins) -> None:
    bench = Bench.from_rig(twins.rig, twins.record)
    await bench.activate()
    bench.evs[1].link.retries = 0
    twins.modbus.faults.exception_code = 4
    with pytest.raises(InstrumentError) as info:
        await bench.plug_in(1)
    assert bench.broken is not None and "ev1 at 127.0.0.1" in bench.broken
    assert "SERVER DEVICE FAILURE" in bench.broken
    twins.modbus.faults.exception_code = None
    with pytest.raises(BenchBroken) as later:
        await bench.present_card("valid")  # a different instrument: the rig is not trusted
    assert str(info.value) in str(later.value)
    assert twins.vpcd.connected == 0
    # safe state still runs on a broken bench
    report = await bring_to_safe_state(bench)
    assert report.ok
    assert not twins.model.connector(1).plugged
    await bench.deactivate()
    verb = next(e for e in events(twins, "verb") if e["name"] == "plug_in")
    assert verb["detail"]["broken"] is True and "SERVER DEVICE FAILURE" in verb["detail"]["error"]


async def test_activation_failure_marks_broken_and_snapshots(twins: Twins) -> None:
    await twins.meter.stop()
    bench = Bench.from_rig(twins.rig, twins.record)
    bench.meters[1].session.timeout_s = 0.3
    with pytest.raises(InstrumentError, match=r"meter at TCPIP::127\.0\.0\.1"):
        await bench.activate()
    assert bench.broken is not None
    snap = load_run(twins.record.path).snapshots["instruments"]
    by_name = {i["name"]: i for i in snap}
    assert by_name["meter"]["identity"] is None and "meter at" in by_name["meter"]["error"]
    assert by_name["ev1"]["identity"] == "bench-ev map v1"
    report = await bring_to_safe_state(bench, step_timeout_s=2.0)
    assert [s.step for s in report.failed] == ["meter.integrator_stopped"]
    await bench.deactivate()


async def test_cancel_during_safe_state_still_runs_every_step(twins: Twins) -> None:
    bench = await charging_bench(twins)
    twins.modbus.faults.delay_s = 0.5  # the first EV step hangs in I/O ...
    task = asyncio.create_task(bring_to_safe_state(bench, step_timeout_s=2.0))
    await asyncio.sleep(0.2)
    task.cancel()  # ... when a second Ctrl-C arrives
    await asyncio.sleep(0)
    twins.modbus.faults.delay_s = 0.0
    with pytest.raises(asyncio.CancelledError):
        await task
    steps = {e["name"]: e["detail"] for e in events(twins, "safe_state")}
    assert steps["ev1.power_not_allowed"]["error"] == "cancelled during this step"
    for later in ("ev1.unplugged", "ev2.unplugged", "card.removed", "meter.integrator_stopped"):
        assert steps[later]["ok"] is True, (later, steps[later])
    assert not twins.model.connector(1).plugged
    await bench.deactivate()


def test_sigterm_as_keyboard_interrupt() -> None:
    import os
    import signal

    from bench.safestate import sigterm_as_keyboard_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), \
            sigterm_as_keyboard_interrupt() as interrupted:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # the handler runs between bytecodes of the main thread
            pass
    assert interrupted.signal == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before


async def test_signals_cancel_main_task() -> None:
    import os
    import signal

    from bench.safestate import signals_cancel_main_task

    ran_finally = False
    with signals_cancel_main_task() as interrupted:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            pass
        finally:
            ran_finally = True
            await asyncio.sleep(0)  # awaiting still works in the finally (safe state)
    assert ran_finally and interrupted.signal == "SIGTERM"
    asyncio.current_task().uncancel()  # type: ignore[union-attr]

"""EV emulator and mains switch twins through a real pymodbus client over TCP."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from sim.model import RigModel
from sim.twins.ev import EvTwin, MainsTwin
from sim.twins.modbus_server import ModbusTwinServer
from sim.twins.regmap import RegisterMapError, load_register_map

MAP = load_register_map("bench-ev-v1")
ADDR = {name: reg.address for name, reg in MAP.registers.items()}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def twins():
    model = RigModel(connectors=2)
    clock = Clock()
    switched: list[bool] = []
    evs = {1: EvTwin(model, 1, MAP, clock=clock), 2: EvTwin(model, 2, MAP, clock=clock)}
    server = ModbusTwinServer({1: evs[1], 2: evs[2], 10: MainsTwin(model, 0, switched.append)})
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=1, retries=0)
    await client.connect()
    assert client.connected, f"no connection to the Modbus twin at 127.0.0.1:{server.port}"
    try:
        yield model, server, client, evs, switched, clock
    finally:
        client.close()
        await server.stop()


async def read(client, name: str, device_id: int = 1) -> list[int]:
    reg = MAP.registers[name]
    rr = await client.read_holding_registers(reg.address, count=reg.words, device_id=device_id)
    assert not rr.isError(), f"read {name}: {rr}"
    return rr.registers


def charge(model: RigModel, n: int = 1) -> None:
    c = model.connector(n)
    c.pwm_duty_pct = 5.0
    c.offered_current_a = 300.0
    c.contactor_closed = True


async def test_every_control_register_reaches_the_model_and_reads_back(twins):
    model, _, client, *_ = twins
    values = {"plugged": 1, "cp_state_request": MAP.enums["cp_state_request"]["C"],
              "allow_power": 1, "requested_current": 1234, "target_voltage": 8005, "pause": 1,
              "stop_request": 1, "diode_fault": 1, "force_state_e": 1, "pp_ampacity": 63}
    control = {n for n, r in MAP.registers.items() if r.writable}
    assert control == set(values), "the test must cover every writable register of the map"
    for name, raw in values.items():
        rr = await client.write_register(ADDR[name], raw, device_id=1)
        assert not rr.isError(), f"write {name}={raw}: {rr}"
        assert await read(client, name) == [raw]
    c = model.connector(1)
    assert (c.plugged, c.cp_request, c.allow_power) == (True, "C", True)
    assert c.requested_current_a == pytest.approx(123.4)
    assert c.target_voltage_v == pytest.approx(800.5)
    assert (c.pause, c.stop_request, c.diode_fault, c.force_e, c.pp_ampacity_a) == (
        True, True, True, True, 63)
    assert model.connector(2).plugged is False, "device 1 must only drive connector 1"


async def test_block_write_of_a_session_and_read_back_of_every_readback_register(twins):
    model, _, client, *_ = twins
    rr = await client.write_registers(0, [1, 2, 1, 1500, 8000], device_id=1)  # 150 A at 800 V
    assert not rr.isError()
    charge(model)
    assert await read(client, "cp_state") == [MAP.enums["cp_state"]["C2"]]
    assert await read(client, "cp_voltage_pos") == [60]
    assert await read(client, "cp_voltage_neg") == [(-120) & 0xFFFF]  # int16, two's complement
    assert await read(client, "pwm_duty") == [50]
    assert await read(client, "contactor_closed") == [1]
    # 800 V * 100 = 80000 does not fit one word: high word first ("big")
    assert await read(client, "measured_voltage") == [80000 >> 16, 80000 & 0xFFFF]
    assert await read(client, "measured_current") == [0, 15000]
    assert await read(client, "error_bits") == [0]
    assert await read(client, "map_version") == [MAP.version]
    rr = await client.read_holding_registers(100, count=12, device_id=1)
    assert rr.registers[5:9] == [1, 14464, 0, 15000]


async def test_cp_states_and_error_bits_follow_the_model(twins):
    model, _, client, *_ = twins
    state = MAP.enums["cp_state"]
    assert await read(client, "cp_state") == [state["A1"]]
    await client.write_registers(0, [1, 1], device_id=1)
    assert await read(client, "cp_state") == [state["B1"]]
    model.connector(1).pwm_duty_pct = 50.0
    assert await read(client, "cp_state") == [state["B2"]]
    await client.write_registers(1, [2], device_id=1)
    await client.write_register(ADDR["diode_fault"], 1, device_id=1)
    assert await read(client, "cp_state") == [state["invalid"]]
    assert await read(client, "error_bits") == [0b001]
    await client.write_register(ADDR["force_state_e"], 1, device_id=1)
    assert await read(client, "cp_state") == [state["E"]]
    assert await read(client, "error_bits") == [0b011]
    model.connector(1).fault = "OtherError"
    await client.write_register(ADDR["force_state_e"], 0, device_id=1)
    assert await read(client, "cp_state") == [state["F"]]


async def test_read_only_registers_and_bad_values_are_refused_with_exceptions(twins):
    model, _, client, *_ = twins
    rr = await client.write_register(ADDR["cp_state"], 4, device_id=1)
    assert rr.isError() and rr.exception_code == 2  # ILLEGAL ADDRESS
    rr = await client.write_registers(ADDR["measured_voltage"], [0, 1], device_id=1)
    assert rr.isError() and rr.exception_code == 2
    for name, bad in (("plugged", 2), ("cp_state_request", 9), ("pp_ampacity", 17)):
        rr = await client.write_register(ADDR[name], bad, device_id=1)
        assert rr.isError() and rr.exception_code == 3, f"{name}={bad}: {rr}"  # ILLEGAL VALUE
    # a block write with one bad word changes nothing
    rr = await client.write_registers(0, [1, 7], device_id=1)
    assert rr.isError() and rr.exception_code == 3
    assert model.connector(1).plugged is False
    rr = await client.read_holding_registers(50, count=1, device_id=1)
    assert rr.isError() and rr.exception_code == 2
    rr = await client.read_coils(0, count=1, device_id=1)
    assert rr.isError() and rr.exception_code == 1  # the EV emulator has no coils


async def test_device_ids_select_the_connector_and_unknown_ids_are_refused(twins):
    model, _, client, *_ = twins
    await client.write_registers(0, [1, 2], device_id=2)
    assert model.connector(2).cp_request == "C" and model.connector(1).cp_request == "A"
    rr = await client.read_holding_registers(0, count=1, device_id=7)
    assert rr.isError() and rr.exception_code == 0x0B


async def test_mains_coil_switches_the_station_supply(twins):
    model, _, client, _, switched, _ = twins
    rr = await client.read_coils(0, count=1, device_id=10)
    assert rr.bits[0] is True
    charge(model)
    rr = await client.write_coil(0, False, device_id=10)
    assert not rr.isError()
    assert model.mains_on is False and switched == [False]
    assert model.connector(1).contactor_closed is False, "no supply: the relays drop"
    assert (await client.read_coils(0, count=1, device_id=10)).bits[0] is False
    assert await read(client, "cp_state") == [MAP.enums["cp_state"]["E"]]
    await client.write_coil(0, True, device_id=10)
    assert model.mains_on is True and switched == [False, True]
    rr = await client.write_coil(1, True, device_id=10)
    assert rr.isError() and rr.exception_code == 2
    rr = await client.read_holding_registers(0, count=1, device_id=10)
    assert rr.isError() and rr.exception_code == 1


async def test_heartbeat_counts_seconds_and_can_be_frozen(twins):
    _, _, client, evs, _, clock = twins
    first = (await read(client, "heartbeat"))[0]
    clock.t += 3.2
    assert (await read(client, "heartbeat"))[0] == first + 3
    evs[1].heartbeat_stopped = True
    frozen = (await read(client, "heartbeat"))[0]
    clock.t += 5
    assert (await read(client, "heartbeat"))[0] == frozen
    evs[1].internal_error = True
    assert await read(client, "error_bits") == [0b100]


async def test_injected_server_faults(twins):
    _, server, client, *_ = twins
    server.faults.exception_code = 6  # DEVICE BUSY
    rr = await client.read_holding_registers(0, count=1, device_id=1)
    assert rr.isError() and rr.exception_code == 6
    server.faults.exception_code = None
    server.faults.no_answer = True
    server.faults.device_ids = {1}
    with pytest.raises(ModbusIOException):
        await client.read_holding_registers(0, count=1, device_id=1)
    server.faults.no_answer = False
    server.faults.delay_s = 0.05
    rr = await client.read_holding_registers(0, count=1, device_id=1)
    assert not rr.isError() and rr.registers == [0]


async def test_port_in_use_names_the_address():
    first = ModbusTwinServer({}, port=0)
    await first.start()
    try:
        second = ModbusTwinServer({}, port=first.port)
        with pytest.raises(Exception, match=rf"127\.0\.0\.1:{first.port}.*in use"):
            await second.start()
    finally:
        await first.stop()


def test_register_map_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[registers.x]\naddress = 1\ntype = "float64"\n')
    with pytest.raises(RegisterMapError, match=r"bad\.toml: \[registers\.x\] type"):
        load_register_map(bad)
    with pytest.raises(RegisterMapError, match="not found"):
        load_register_map("no-such-map")

"""Instrument twins of the simulated rig, each served over the real instrument's wire protocol.

- `regmap`: the EV emulator register map, loaded from `instruments/maps/<name>.toml`;
- `ev`: the EV emulator twin and the mains switch twin (Modbus devices over the model);
- `modbus_server`: the Modbus TCP server (all pymodbus datastore code lives there);
- `meter`: the SCPI power meter twin (asyncio TCP server, generic dialect).
"""

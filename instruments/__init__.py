"""Instrument I/O: one small interface per capability, one driver per device family.

Each driver module ends with its registration (`registration.DriverRegistration`: rig name,
keys, role, Protocol, safe-state steps, builder), published under the entry-point group
`bench.drivers` and read by `registry` (docs/drivers.md); `roles` are the bench's slots.

Interfaces (`instruments.interfaces`): EvEmulator, PowerMeter, CardPresenter, CardReader,
MainsSwitch (typing.Protocol). Drivers: `modbus_ev.ModbusEvEmulator` (register map as data,
`regmap`), `scpi_meter.ScpiPowerMeter` (generic, yokogawa-wt, rs-hmc8015, hioki-pw, zes-lmg),
`vpcd_card.VpcdCardPresenter`, `card_presenters.RelayCardPresenter` / `ManualCardPresenter`,
`pcsc_reader.PcscCardReader`, `mains.ModbusCoilMains` / `ScpiSourceMains`.
Lifecycle: `await d.activate(readonly=False) -> Identity`, use, `await d.deactivate()`.
Every I/O failure is an `errors.InstrumentError` naming the instrument and its address.
"""

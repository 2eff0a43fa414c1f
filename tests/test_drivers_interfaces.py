"""Every driver offers the capability interface the verbs ask for (typing.Protocol)."""

from __future__ import annotations

import pytest

from instruments.card_presenters import ManualCardPresenter, RelayCardPresenter
from instruments.interfaces import (
    CardPresenter,
    CardReader,
    EvEmulator,
    Instrument,
    MainsSwitch,
    PacketFilter,
    PowerMeter,
)
from instruments.mains import ModbusCoilMains, ScpiSourceMains
from instruments.modbus_ev import ModbusEvEmulator
from instruments.nftables import NftDropFilter
from instruments.pcsc_reader import PcscCardReader
from instruments.registry import registry
from instruments.scpi_meter import ScpiPowerMeter
from instruments.vpcd_card import VpcdCardPresenter

DRIVERS = [
    (ModbusEvEmulator("ev", "127.0.0.1", 1, 1, "bench-ev-v1", 1), EvEmulator),
    *[(ScpiPowerMeter("m", "TCPIP::h::1::SOCKET", dialect=d), PowerMeter)
      for d in registry().dialects],
    (VpcdCardPresenter("c", "127.0.0.1", 1), CardPresenter),
    (RelayCardPresenter("c", "127.0.0.1", 1, 1, {"04AA": 0}), CardPresenter),
    (ManualCardPresenter("c"), CardPresenter),
    (PcscCardReader("r"), CardReader),
    (ModbusCoilMains("mains", "127.0.0.1", 1, 10), MainsSwitch),
    (ScpiSourceMains("mains", "TCPIP::h::1::SOCKET"), MainsSwitch),
    (NftDropFilter("network", "10.0.0.2"), PacketFilter),
]


@pytest.mark.parametrize(("driver", "protocol"), DRIVERS,
                         ids=[f"{type(d).__name__}-{p.__name__}" for d, p in DRIVERS])
def test_driver_offers_its_interface(driver: object, protocol: type) -> None:
    assert isinstance(driver, Instrument)
    assert isinstance(driver, protocol)
    assert not driver.active  # type: ignore[attr-defined]
    assert driver.name and driver.address  # type: ignore[attr-defined]


def test_ev_emulator_is_not_a_meter() -> None:
    ev = ModbusEvEmulator("ev", "127.0.0.1", 1, 1, "bench-ev-v1", 1)
    assert not isinstance(ev, PowerMeter)
    assert not isinstance(ev, CardPresenter)

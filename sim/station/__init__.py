"""The simulated SmartDC charge point: an OCPP 1.6-J client wired to the rig's physical model.

    cfg = StationConfig.smartdc()                   # or StationConfig.load(path, base=cfg)
    st = StationSimulator(cfg, model, card_source, csms_url, faults={...},
                          store=PersistentStore(path_or_None))
    await st.run()          # until power_off()
"""

from sim.station.cards import CardSource, ManualCardSource, PcscCardSource
from sim.station.config import StationConfig
from sim.station.faults import FAULTS, Fault, format_faults, print_faults
from sim.station.station import StationSimulator
from sim.station.store import PersistentStore

__all__ = [
    "FAULTS",
    "CardSource",
    "Fault",
    "ManualCardSource",
    "PcscCardSource",
    "PersistentStore",
    "StationConfig",
    "StationSimulator",
    "format_faults",
    "print_faults",
]

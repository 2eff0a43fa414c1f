"""The simulated SmartDC charge point: an OCPP 1.6-J client wired to the rig's physical model.

    cfg = StationConfig.smartdc()                   # or StationConfig.load(path, base=cfg)
    st = StationSimulator(cfg, model, card_source, csms_url, faults={...},
                          store=PersistentStore(path_or_None))
    task = asyncio.create_task(st.run())  # connects, boots, serves, reconnects
    st.status()                           # connection, boot status, per-connector status
    st.add_status_listener(fn)            # fn(connector, status, errorCode) per StatusNotification
    await st.power_off()                  # mains cut; run() returns; run() again = power on

Security profile (from the rig file, never from a station TOML): cfg.security =
StationSecurity(profile, authorization_key, csms_ca, client_cert, client_key).

Station TOML (overrides of the SmartDC defaults):

    [station]                 # fields of StationConfig
    connectors = 2
    fixed_cable = false       # a socket with a lock (outlet.py; the model's cable end)
    authorization_cache = true
    backup_power = true
    [keys]                    # configuration keys: a value, or a table
    HeartbeatInterval = 60
    MyVendorKey = { value = "x", readonly = true, reboot_required = false }
    [id_tags]                 # card UID -> the idTag sent for it (default: the UID's hex)
    04A1B2C3D4E5F7 = "BB2TBR09"

Optional profiles, each on only when SupportedFeatureProfiles names it (a station TOML's
[keys]): FirmwareManagement (firmware.py: UpdateFirmware fetches the image with transfer.py,
firmware_image.py checks its digest, install, reboot with the new firmwareVersion;
GetDiagnostics uploads a tar.gz; SupportedFileTransferProtocols says which servers it uses;
[station] firmware_install_s how long an installation takes) and RemoteTrigger (trigger.py).

Modules: config/keys (what the station is), store (non-volatile memory), cards (readers),
link/ocppj (the websocket and OCPP-J), txqueue (transaction messages), connector/meter (state,
status, meter values), outlet (a socket: the cable's station end and its lock), handlers (the
CSMS's CALLs), station (the whole), faults (profiles).
"""

from sim.station.cards import CardSource, ManualCardSource, PcscCardSource
from sim.station.config import StationConfig
from sim.station.faults import FAULTS, Fault, format_faults, print_faults
from sim.station.security import StationSecurity
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
    "StationSecurity",
    "StationSimulator",
    "format_faults",
    "print_faults",
]

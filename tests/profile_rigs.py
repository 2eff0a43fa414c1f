"""Rigs for the optional-profile cases: rigs/sim.toml with the simulated station declaring
Local Authorization List Management and Reservation (the SmartDC default is Core only), in the
station's own config and in the rig's [pics] and [hardware]. Written per test, never shared.

`python tests/profile_rigs.py FOLDER [refusing]` writes one for a campaign by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES = '["Core", "LocalAuthListManagement", "Reservation"]'


def profiles_rig(folder: Path, refusing: bool = False) -> Path:
    """The two profiles on the simulated rig. `refusing`: a station that cannot store a local
    list and is configured to refuse reservations, without connector-0 reservations (the
    cases TC_043_3, TC_048_4 and TC_050_4 need it; the others are N/A there)."""
    station = folder / ("refusing-station.toml" if refusing else "profiles-station.toml")
    station.write_text(
        "[station]\nlocal_auth_list = true\nreservation = true\n"
        f"reserve_connector_zero = {'false' if refusing else 'true'}\n"
        f"local_list_store_fails = {'true' if refusing else 'false'}\n"
        f"rejects_reservations = {'true' if refusing else 'false'}\n"
        # a start a failed case left waiting for its plug ends within the maintenance's
        # settle time (the SmartDC's 60 s would hold the connector for the next case)
        "[keys]\nConnectionTimeOut = 5\n", "utf-8")
    text = (REPO / "rigs" / "sim.toml").read_text("utf-8")
    text = text.replace("local_auth_list = false", "local_auth_list = true\n"
                        f"reserve_connector_zero = {'false' if refusing else 'true'}\n"
                        f"local_list_store_fails = {'true' if refusing else 'false'}\n"
                        f"rejects_reservations = {'true' if refusing else 'false'}")
    text = text.replace('feature_profiles = ["Core"]', f"feature_profiles = {PROFILES}")
    text = text.replace("[simulator]", f"[simulator]\nstation_config = {str(station)!r}", 1)
    rig = folder / ("refusing-rig.toml" if refusing else "profiles-rig.toml")
    rig.write_text(text, "utf-8")
    return rig


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    print(profiles_rig(out, refusing=sys.argv[2:] == ["refusing"]))

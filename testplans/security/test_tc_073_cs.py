"""TC_073_CS Update Charge Point Password for HTTP Basic Authentication (docs/catalogue.md).

ChangeConfiguration(AuthorizationKey = hex of "OCA_OCTT_admin_test") -> Accepted; the station
drops the connection and comes back with the new password, which the endpoint now takes (the
old one it refuses); then the same back to the rig's key.
"""

import pytest

from testplans.ocpp import check_answer
from testplans.security_steps import wait_new_connection

pytestmark = pytest.mark.octt("TC_073_CS", "Update Charge Point Password for HTTP Basic "
                              "Authentication",
                              requires=("profile:Security", "security_profile:1,2"),
                              measures=("security.password_reconnect",))

NEW_KEY = b"OCA_OCTT_admin_test"  # the OCTT's password, 19 bytes


async def change_password(case, station, key: bytes, what: str) -> float:
    """ChangeConfiguration(AuthorizationKey) Accepted, then a new connection with `key`;
    the seconds from the answer to that connection."""
    generation = station.generation
    with case.step(f"ChangeConfiguration(AuthorizationKey = {what}): Accepted"):
        res = await station.call("ChangeConfiguration",
                                 {"key": "AuthorizationKey", "value": key.hex()})
        check_answer(case, res, "Accepted", "ChangeConfiguration(AuthorizationKey)")
        station.use_authorization_key(key)  # the CSMS's side: the old key is refused now
    with case.step(f"the station reconnects with the {what}"):
        at = await wait_new_connection(case, generation, case.setting("security_reconnect_s"),
                                       f"a new connection authenticated with the {what}")
    return (at - res.answered_mono_ns) / 1e9


async def test_tc_073_cs(case, station, rig):
    original = rig.station.authorization_key
    case.check(rig.station.security_profile in (1, 2) and original is not None,
               "the rig at security profile 1 or 2 with an AuthorizationKey (HTTP Basic)",
               f"is at profile {rig.station.security_profile}")
    try:
        first = await change_password(case, station, NEW_KEY, "new password")
        second = await change_password(case, station, original, "rig's password again")
    finally:  # whatever happened, the endpoint expects the rig's key again
        station.use_authorization_key(original)
    case.measure("security.password_reconnect", series=[first, second])

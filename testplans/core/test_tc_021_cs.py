"""TC_021_CS Change/set Configuration (docs/catalogue.md; OCTT p34).

Pre-state: MeterValueSampleInterval is not X (X = the configured meter value sample interval;
the bench sets X + 1 when it is). ChangeConfiguration(MeterValueSampleInterval=X) -> Accepted;
GetConfiguration(MeterValueSampleInterval) -> X. The old value is restored afterwards.
"""

import pytest

from bench.plugin.prestate import change_and_verify, remember_config
from testplans.ocpp import check_answer, get_config

pytestmark = pytest.mark.octt("TC_021_CS", "Change/set Configuration")

KEY = "MeterValueSampleInterval"


async def test_tc_021_cs(case, station):
    wanted = str(int(float(case.setting("meter_value_sample_interval_s"))))
    await remember_config(station, case, KEY)
    if (await get_config(case, KEY))[KEY] == wanted:
        await change_and_verify(station, case, {KEY: str(int(wanted) + 1)})
    with case.step(f"ChangeConfiguration({KEY}={wanted}): Accepted"):
        res = await station.call("ChangeConfiguration", {"key": KEY, "value": wanted})
        check_answer(case, res, "Accepted", f"ChangeConfiguration({KEY}={wanted})")
    with case.step(f"GetConfiguration({KEY}): {wanted}"):
        got = (await get_config(case, KEY))[KEY]
        case.check(got == wanted, f"GetConfiguration to read back {KEY}={wanted}",
                   f"reports {got!r}")

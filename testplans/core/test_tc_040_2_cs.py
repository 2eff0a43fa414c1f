"""TC_040_2_CS Configuration key – Invalid value (docs/catalogue.md; TZ, EV).

ChangeConfiguration(MeterValueSampleInterval, "-1") -> Rejected (an interval is an integer
>= 0). The bench then reads the key back: a Rejected change must leave the value as it was.
"""

import pytest

from bench.plugin.prestate import remember_config
from testplans.ocpp import check_answer, get_config

pytestmark = pytest.mark.octt("TC_040_2_CS", "Configuration key – Invalid value")

KEY, INVALID = "MeterValueSampleInterval", "-1"


async def test_tc_040_2_cs(case, station):
    await remember_config(station, case, KEY)  # restored afterwards should the station take it
    before = (await get_config(case, KEY))[KEY]
    with case.step(f"ChangeConfiguration({KEY}={INVALID}): Rejected"):
        res = await station.call("ChangeConfiguration", {"key": KEY, "value": INVALID})
        check_answer(case, res, "Rejected",
                     f"ChangeConfiguration({KEY}={INVALID})")
    with case.step(f"GetConfiguration({KEY}): still {before}"):
        after = (await get_config(case, KEY))[KEY]
        case.check(after == before, f"{KEY} to keep its value {before!r} after the rejected "
                   "change", f"reports {after!r}")

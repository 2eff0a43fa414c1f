"""MeterValues of the simulated station: sampled, clock-aligned, in StopTransaction."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from pathlib import Path

from test_station_support import station_rig


def stamp(mv: dict) -> datetime:
    return datetime.fromisoformat(mv["timestamp"].replace("Z", "+00:00"))


async def test_sampled_meter_values_every_interval_from_the_model(tmp_path: Path):
    keys = {"MeterValueSampleInterval": 1,
            "MeterValuesSampledData": "Energy.Active.Import.Register,Voltage,Current.Import,"
                                      "Current.Offered,Power.Active.Import"}
    async with station_rig(tmp_path, keys=keys) as rig:
        tx_id = await rig.charging(1)
        got = [await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5) for _ in range(3)]
        values = [m.payload["meterValue"][0] for m in got]
        for mv in values:
            sv = {s["measurand"]: s for s in mv["sampledValue"]}
            assert set(sv) == set(keys["MeterValuesSampledData"].split(","))
            assert {s["context"] for s in mv["sampledValue"]} == {"Sample.Periodic"}
            assert "location" not in sv["Voltage"]
            assert sv["Voltage"]["value"] == "400.0" and sv["Current.Import"]["value"] == "100.00"
            assert sv["Energy.Active.Import.Register"]["unit"] == "Wh"
            assert len(mv["timestamp"].split(".")[1]) == 4  # milliseconds + Z
        gaps = [(stamp(b) - stamp(a)).total_seconds() for a, b in itertools.pairwise(values)]
        assert all(0.8 <= g <= 1.3 for g in gaps), gaps
        energies = [float(next(s["value"] for s in mv["sampledValue"]
                               if s["measurand"] == "Energy.Active.Import.Register"))
                    for mv in values]
        assert energies == sorted(energies) and energies[-1] > energies[0]


async def test_clock_aligned_meter_values_sit_on_the_boundaries(tmp_path: Path):
    keys = {"ClockAlignedDataInterval": 2}
    async with station_rig(tmp_path, keys=keys) as rig:
        tx_id = await rig.charging(1)
        for _ in range(2):
            msg = await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
            mv = msg.payload["meterValue"][0]
            at = stamp(mv)
            assert at.second % 2 == 0 and at.microsecond == 0, mv["timestamp"]
            assert [s["context"] for s in mv["sampledValue"]] == ["Sample.Clock"]
            assert mv["sampledValue"][0]["measurand"] == "Energy.Active.Import.Register"


async def test_stop_transaction_carries_stop_txn_data(tmp_path: Path):
    keys = {"MeterValueSampleInterval": 1, "StopTxnSampledData": "Voltage,Current.Import"}
    async with station_rig(tmp_path, keys=keys) as rig:
        tx_id = await rig.charging(1)
        await rig.cs.expect("MeterValues", {"transactionId": tx_id}, 5)
        await rig.cs.call("RemoteStopTransaction", {"transactionId": tx_id})
        stop = await rig.cs.expect("StopTransaction", within=5)
        data = stop.payload["transactionData"]
        assert data[0]["sampledValue"][0]["context"] == "Sample.Periodic"
        assert data[-1]["sampledValue"][0]["context"] == "Transaction.End"
        assert {s["measurand"] for s in data[0]["sampledValue"]} == {"Voltage", "Current.Import"}


async def test_switching_clock_aligned_data_off_takes_effect_at_once(tmp_path: Path):
    async with station_rig(tmp_path, keys={"ClockAlignedDataInterval": 2}) as rig:
        await rig.charging(1)
        res = await rig.cs.call("ChangeConfiguration",
                                {"key": "ClockAlignedDataInterval", "value": "0"})
        assert res.get("status") == "Accepted"
        with rig.cs.forbid("MeterValues"):
            await asyncio.sleep(2.2)

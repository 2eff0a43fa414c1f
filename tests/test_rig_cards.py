"""UID and idTag kept apart, end to end over the real parts: the bench's card presenter puts a
card's UID on the station's PC/SC reader (vpcd + pcscd), the simulated station sends the idTag
its configuration maps that UID to, and the bench's CSMS answers by idTag. A card without a
UID serves a remote start and cannot be presented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config.rig import load_rig
from bench.csms import Csms
from bench.record import RunRecord
from bench.verbs import Bench, BenchConfigError
from sim.station.config import StationConfig
from sim.testing import running_sim_rig

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RIG = load_rig(ROOT / "rigs" / "sim.toml")


@pytest.fixture
def real_parts(pcscd_binary, vpcd_driver):
    return pcscd_binary, vpcd_driver


def answer_to(record: RunRecord, msg_id: str) -> dict:
    """The bench's CALLRESULT payload to the station CALL msg_id, from frames.jsonl."""
    for line in (record.path / "frames.jsonl").read_text("utf-8").splitlines():
        frame = json.loads(line)
        if frame["direction"] == "out" and frame["msg_id"] == msg_id and frame["msg_type"] == 3:
            return json.loads(frame["raw"])[2]
    raise AssertionError(f"no answer to {msg_id} in the record")


async def test_station_sends_the_id_tag_and_the_csms_answers_it(tmp_path, real_parts):
    member, remote = RIG.card("group_member"), RIG.card("remote_only")
    assert member.uid and member.id_tag != member.uid  # the rig maps this card
    assert remote.uid is None
    record = RunRecord.create(tmp_path / "runs", "cards")
    csms = Csms.from_rig(RIG, record, port=0)
    await csms.start()
    try:
        async with running_sim_rig(csms.url, cwd=ROOT) as sim:
            station = await csms.wait_for_station(RIG.station.id, timeout=15)
            bench = Bench.from_rig(RIG.with_ports(sim.endpoints), record, csms)
            await bench.activate()
            try:
                await bench.present_card("group_member", hold_s=0.6)
                auth = await station.expect("Authorize", within=10)
                assert auth.payload == {"idTag": member.id_tag}  # not the UID's hex
                info = answer_to(record, auth.msg_id)["idTagInfo"]
                assert info == {"status": "Accepted", "parentIdTag": member.parent}

                with pytest.raises(BenchConfigError, match=r"\[cards.remote_only\].*no uid"):
                    await bench.present_card("remote_only")
                # connector 1 waits for a plug after the card above: start on connector 2
                res = await station.call("RemoteStartTransaction",
                                         {"connectorId": 2, "idTag": remote.id_tag})
                assert res.get("status") == "Accepted", res
                auth = await station.expect("Authorize", match={"idTag": remote.id_tag},
                                            within=10)
                assert answer_to(record, auth.msg_id)["idTagInfo"]["status"] == "Accepted"
            finally:
                await bench.deactivate()
    finally:
        await csms.stop()
        record.close()


def test_station_config_id_tags_table(tmp_path: Path) -> None:
    """A station TOML's [id_tags] maps UIDs as a real station's configuration does."""
    toml = tmp_path / "station.toml"
    toml.write_text('[id_tags]\n04a1b2c3d4e5f7 = "BB2TBR09"\n', "utf-8")
    cfg = StationConfig.load(toml)
    assert cfg.id_tag_for("04A1B2C3D4E5F7") == "BB2TBR09"
    assert cfg.id_tag_for("04a1b2c3d4e5f6") == "04A1B2C3D4E5F6"  # unmapped: the UID's hex
    toml.write_text('[id_tags]\n04ZZ = "X"\n', "utf-8")
    with pytest.raises(ValueError, match=r"\[id_tags\] 04ZZ: not a hex UID"):
        StationConfig.load(toml)
    toml.write_text('[id_tags]\n04AA = "MUCH-TOO-LONG-FOR-AN-IDTAG"\n', "utf-8")
    with pytest.raises(ValueError, match="CiString20"):
        StationConfig.load(toml)

"""Steps the Local Authorization List cases share (TC_008, TC_042_x, TC_043_x): read the
list's version, send a list, and leave the station with an empty list afterwards (the OCTT
maintenance step "clear local list")."""

from __future__ import annotations

from typing import Any

from bench.plugin import Case
from testplans.ocpp import check_answer


def entry(card: Any, with_info: bool = True) -> dict[str, Any]:
    """A localAuthorizationList item for a rig card: idTag and idTagInfo (its catalogue status
    and parent); `with_info=False`: no idTagInfo, which removes it in a Differential update."""
    item: dict[str, Any] = {"idTag": card.id_tag}
    if with_info:
        info: dict[str, Any] = {"status": card.status}
        if card.parent:
            info["parentIdTag"] = card.parent
        item["idTagInfo"] = info
    return item


async def list_version(case: Case, expected: int | tuple[int, ...] | None = None,
                       why: str = "") -> int | None:
    """GetLocalListVersion; `expected`: the listVersion it must read (one of them); None:
    any integer."""
    res = await case.station.call("GetLocalListVersion", {})
    version = res.get("listVersion")
    wanted = (expected,) if isinstance(expected, int) else expected
    if res.error is not None:
        seen = f"answered CALLERROR {res.error.code} {res.error.description!r}"
    else:
        seen = f"answered listVersion={version!r}"
    ok = res.error is None and isinstance(version, int) and (wanted is None or version in wanted)
    reads = "an integer" if wanted is None else " or ".join(str(w) for w in wanted)
    case.check(ok, f"GetLocalListVersion.conf listVersion {reads}{f' ({why})' if why else ''}",
               f"{seen} (seq {res.frame_seqs[1]})", at=res.answered_mono_ns)
    return version if isinstance(version, int) else None


async def send_list(case: Case, update: str, version: int, items: list[dict[str, Any]],
                    expected: str | tuple[str, ...] = "Accepted") -> Any:
    """SendLocalList(update, version, items); its status must be `expected`. Registers the
    maintenance step that empties the list again once one was stored."""
    payload: dict[str, Any] = {"listVersion": version, "updateType": update}
    if items:
        payload["localAuthorizationList"] = items
    res = await case.station.call("SendLocalList", payload)
    if res.error is None and res.get("status") == "Accepted":
        clear_list_afterwards(case)
    names = ", ".join(i["idTag"] + ("" if "idTagInfo" in i else " (remove)") for i in items)
    check_answer(case, res, expected, f"SendLocalList({update}, version {version}"
                 f"{', ' + names if names else ', no list'})")
    return res


def clear_list_afterwards(case: Case) -> None:
    """The maintenance sends SendLocalList(Full, version 0, no list), as OCTT's does."""
    async def clear() -> None:
        res = await case.station.call("SendLocalList", {"listVersion": 0, "updateType": "Full"})
        if res.error is not None or res.get("status") not in ("Accepted", "NotSupported"):
            raise RuntimeError("SendLocalList(Full, version 0) answered "
                               f"{res.error.code if res.error else res.get('status')}")

    case.undo.setdefault("local list cleared", clear)


def next_version(current: int | None) -> int:
    """A listVersion newer than the one the station holds (-1 and 0 read as none)."""
    return max(current or 0, 0) + 1

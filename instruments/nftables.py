"""nft-drop: the station's packets to and from the CSMS vanish on the bench host (nftables).

A pulled cable as the station sees it: its frames and its connection attempts go unanswered,
nothing is closed and nothing is refused, so it must notice the loss by its own means
(WebSocket ping/pong, TCP timeouts). Only the station<->CSMS traffic is matched (the station's
address and the CSMS port, optionally on one interface): the instruments' traffic passes.

The rules live in a table of our own, `inet bench_netcut_<address>`, that exists only while the
link is cut: `drop()` creates it, `allow()` deletes it, and activation deletes one a crashed
run left behind. The host's other tables are never touched. A named counter in the table
counts the station's new connection attempts (TCP SYN to the CSMS port) during the cut.

Runs the `nft` command line (Debian package nftables); needs root or CAP_NET_ADMIN.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import shutil
from dataclasses import dataclass
from typing import Any

from instruments.base import Driver
from instruments.deadline import within_deadline
from instruments.interfaces import Identity

COUNTER = "station_syn"
_NFT_PLACES = ("/usr/sbin/nft", "/sbin/nft")
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")  # Linux IFNAMSIZ: 15 characters


def table_name(station_address: str, interface: str | None = None) -> str:
    """Our table for this station: one per station address (and interface), never shared."""
    text = str(ipaddress.ip_address(station_address)) + (f"_{interface}" if interface else "")
    return "bench_netcut_" + re.sub(r"[^A-Za-z0-9]", "_", text)


def valid_interface(name: str) -> bool:
    return bool(_IFNAME.match(name))


def drop_ruleset(table: str, station_address: str, csms_port: int,
                 interface: str | None = None) -> str:
    """An nft script that (re)creates `table` with the drop rules, in one transaction.

    `add` + `delete` first makes the script work whether or not the table exists; the base
    chains run before the usual filter priority, and a drop in any base chain is final.
    """
    ip = ipaddress.ip_address(station_address)
    family = "ip" if ip.version == 4 else "ip6"
    iif = f'iifname "{interface}" ' if interface else ""
    oif = f'oifname "{interface}" ' if interface else ""
    from_station = f"{iif}{family} saddr {ip} tcp dport {csms_port}"
    to_station = f"{oif}{family} daddr {ip} tcp sport {csms_port}"
    return "\n".join([
        f"add table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
        f"  counter {COUNTER} {{",
        "  }",
        "  chain input {",
        "    type filter hook input priority filter - 10; policy accept;",
        f'    {from_station} tcp flags & (syn | ack) == syn counter name "{COUNTER}"',
        f"    {from_station} drop",
        "  }",
        "  chain output {",
        "    type filter hook output priority filter - 10; policy accept;",
        f"    {to_station} drop",
        "  }",
        "}",
        "",
    ])


@dataclass(frozen=True)
class FilterState:
    """Read-back of the filter: is the station's traffic dropped, how many SYNs were seen."""

    table: str
    dropping: bool
    drop_rules: int = 0
    syn_packets: int | None = None  # None: no table, nothing counted

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_table(listing: dict[str, Any], table: str) -> FilterState:
    """FilterState from `nft -j list table inet TABLE`."""
    drops, packets = 0, None
    for item in listing.get("nftables", []):
        rule = item.get("rule")
        if rule is not None and any("drop" in e for e in rule.get("expr", [])
                                    if isinstance(e, dict)):
            drops += 1
        counter = item.get("counter")
        if counter is not None and counter.get("name") == COUNTER:
            packets = int(counter.get("packets", 0))
    return FilterState(table, drops > 0, drops, packets)


class NftDropFilter(Driver):
    """The packet filter on the bench host that cuts one station's link to the CSMS."""

    driver = "nft-drop"

    def __init__(self, name: str, station_address: str, interface: str | None = None,
                 timeout_s: float = 5.0, table: str | None = None, nft: str | None = None) -> None:
        self.station_address = str(ipaddress.ip_address(station_address))
        self.interface = interface
        where = f"station {self.station_address}" + (f" on {interface}" if interface else "")
        super().__init__(name, f"{where} (nftables)")
        self.table = table or table_name(self.station_address, interface)
        self.timeout_s = timeout_s
        self._nft_given = nft
        self.nft = ""
        self.version = ""
        self.stale_table: bool | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def _open(self) -> None:
        found = self._nft_given or shutil.which("nft") or next(
            (p for p in _NFT_PLACES if shutil.which(p)), None)
        if not found:
            raise self.error("nft not found (Debian: apt-get install nftables)")
        self.nft = found
        self.version = (await self._run("--version")).strip()
        self.stale_table = await self._table_exists()  # also proves we may read the ruleset
        if self.stale_table and not self.readonly:
            await self._delete_table()  # left by a run that died while the link was cut

    async def _identify(self) -> Identity:
        details: dict[str, Any] = {"table": f"inet {self.table}"}
        details["stale_table_present" if self.readonly else "stale_table_removed"] = \
            bool(self.stale_table)
        return self.make_identity(self.version, **details)

    async def _close(self) -> None:
        if self.nft and not self.readonly:
            await self._delete_table()

    # -- the filter ------------------------------------------------------------------------
    async def drop(self, csms_port: int) -> None:
        """From now on the station's packets to and from `csms_port` are dropped silently."""
        self.require_active()
        await self._run("-f", "-", stdin=drop_ruleset(self.table, self.station_address,
                                                      csms_port, self.interface))

    async def allow(self) -> None:
        """The station's traffic passes again: our table is gone."""
        self.require_active()
        await self._delete_table()

    async def state(self) -> FilterState:
        self.require_active()
        listing = await self._list_table()
        return FilterState(self.table, False) if listing is None else parse_table(
            listing, self.table)

    async def syn_packets(self) -> int:
        """The station's connection attempts (SYN to the CSMS port) counted since drop()."""
        state = await self.state()
        if state.syn_packets is None:
            raise self.error(f"table inet {self.table} is gone while the link should be cut "
                             "(removed by someone else?)")
        return state.syn_packets

    # -- nft -------------------------------------------------------------------------------
    async def _table_exists(self) -> bool:
        return await self._list_table() is not None

    async def _list_table(self) -> dict[str, Any] | None:
        out = await self._run("-j", "list", "table", "inet", self.table, missing_ok=True)
        if out is None:
            return None
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise self.error(f"nft -j list table inet {self.table}: not JSON ({exc}): "
                             f"{out[:200]!r}") from None

    async def _delete_table(self) -> None:
        await self._run("-f", "-", stdin=f"add table inet {self.table}\n"
                                         f"delete table inet {self.table}\n")

    async def _run(self, *args: str, stdin: str | None = None,
                   missing_ok: bool = False) -> str | None:
        """Run nft with a deadline; its failure names the command and what nft said.
        missing_ok: "No such file or directory" (no such table) returns None."""
        shown = "nft " + " ".join(args)
        try:
            proc = await asyncio.create_subprocess_exec(
                self.nft, *args, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise self.error(f"{shown}: cannot start {self.nft}: {exc}") from None
        try:
            out, err = await within_deadline(
                proc.communicate(stdin.encode() if stdin is not None else None), self.timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise self.error(f"{shown}: no answer within {self.timeout_s:g} s") from None
        text = err.decode("utf-8", "replace").strip()
        if proc.returncode == 0:
            return out.decode("utf-8", "replace")
        if missing_ok and "No such file or directory" in text:
            return None
        hint = (" (nftables needs root or CAP_NET_ADMIN)"
                if "Operation not permitted" in text else "")
        raise self.error(f"{shown} failed (exit {proc.returncode}): "
                         f"{' | '.join(text.splitlines()[:4]) or 'no message'}{hint}")

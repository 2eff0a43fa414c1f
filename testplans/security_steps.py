"""Steps the Security whitepaper cases share (OCPP 1.6 Security whitepaper, edition 2).

Certificates come from the run's PKI (`pki` fixture, bench/pki.py); hash data is computed by
the bench itself, never taken from the station, so that a station answering with the wrong
hashes cannot agree with itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cryptography import x509

from bench.files.model import PROTOCOLS
from bench.pki import pem_of
from bench.plugin import Case
from testplans.ocpp import check_answer, clock_offset_s, expect, station_time, utc_timestamp

CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
MANUFACTURER_ROOT = "ManufacturerRootCertificate"
ROOT_OF = {CENTRAL_SYSTEM_ROOT: "central_system_root", MANUFACTURER_ROOT: "manufacturer_root"}


def transfer_protocol(case: Case) -> str:
    """The protocol of GetLog and SignedUpdateFirmware (TC_079-TC_081): the setting
    file_protocol, else HTTP. The whitepaper leaves the URL's scheme to the CSMS, and a
    Security station need not declare SupportedFileTransferProtocols (a FirmwareManagement
    key); a station that takes only secure transfers is run with file_protocol = HTTPS."""
    wanted = str(case.setting("file_protocol") or "HTTP").upper()
    if wanted not in PROTOCOLS:
        raise RuntimeError(f"{case.id}: setting file_protocol = {wanted!r}: must be one of "
                           f"{', '.join(PROTOCOLS)}")
    return wanted


async def signed_update_firmware(case: Case, files: Any, pki: Any, request_id: int,
                                 image: bytes, signature: str, name: str) -> Any:
    """Serve `image` as `name` on the bench's file server (transfer_protocol) and send
    SignedUpdateFirmware for it with the bench's firmware signing certificate and `signature`;
    the answer must be Accepted. Returns the answer (its sent stamp starts the chain)."""
    protocol = transfer_protocol(case)
    url = files([protocol]).publish(name, image)[protocol]
    res = await case.station.call("SignedUpdateFirmware", {
        "requestId": request_id, "firmware": {
            "location": url, "retrieveDateTime": utc_timestamp(),
            "signingCertificate": pki.pem("firmware_signer"), "signature": signature}})
    check_answer(case, res, "Accepted", "SignedUpdateFirmware")
    return res


def same_hash_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """CertificateHashData equality: hex case-insensitive, a serial number's leading zeros
    not significant (the whitepaper writes it as hex without saying more)."""
    def norm(d: dict[str, Any], k: str) -> str:
        v = str(d.get(k, "")).lower()
        return (v.lstrip("0") or "0") if k == "serialNumber" else v

    return all(norm(a, k) == norm(b, k) for k in ("hashAlgorithm", "issuerNameHash",
                                                 "issuerKeyHash", "serialNumber"))


async def installed_ids(case: Case, kind: str) -> list[dict[str, Any]]:
    """GetInstalledCertificateIds(kind): the hash data listed (NotFound: none)."""
    res = await case.station.call("GetInstalledCertificateIds", {"certificateType": kind})
    check_answer(case, res, ("Accepted", "NotFound"), f"GetInstalledCertificateIds({kind})")
    return list(res.get("certificateHashData") or []) if res.get("status") == "Accepted" else []


async def install(case: Case, kind: str, cert: x509.Certificate) -> Any:
    """InstallCertificate(kind, cert) -> Accepted."""
    res = await case.station.call("InstallCertificate",
                                  {"certificateType": kind, "certificate": pem_of(cert)})
    check_answer(case, res, "Accepted", f"InstallCertificate({kind})")
    return res


async def ensure_root(case: Case, pki: Any, kind: str) -> None:
    """The bench's root of `kind` installed on the station (installed when not listed)."""
    cert = pki.cert(ROOT_OF[kind])
    wanted = pki.hash_data(cert, "SHA256")
    if not any(same_hash_data(h, wanted) for h in await installed_ids(case, kind)):
        await install(case, kind, cert)


async def check_listed(case: Case, pki: Any, kind: str, cert: x509.Certificate,
                       listed: bool, after: str) -> None:
    """GetInstalledCertificateIds(kind) lists `cert` (or, listed=False, does not)."""
    ids = await installed_ids(case, kind)
    algorithms = {str(h.get("hashAlgorithm")) for h in ids} or {"SHA256"}
    found = any(same_hash_data(h, pki.hash_data(cert, alg)) for alg in algorithms
                if alg in ("SHA256", "SHA384", "SHA512") for h in ids)
    subject = cert.subject.rfc4514_string()
    case.check(found == listed,
               f"GetInstalledCertificateIds({kind}) {'to list' if listed else 'not to list'} "
               f"{subject} {after}",
               f"listed {len(ids)} certificate(s){' without it' if listed else ', it among them'}")


async def expect_security_event(case: Case, kind: str, cause: Any) -> Any:
    """The SecurityEventNotification(type kind) that `cause` (a bench CALL's result) provokes:
    schema-valid, its timestamp readable and judged against the bench clock (run-wide
    clock.offset), the time from the CALL to it measured as security.event_latency.<kind>."""
    msg = await expect(case, "SecurityEventNotification", {"type": kind},
                       after=cause.sent_mono_ns, trigger=f"the {cause.action}")
    stamp = station_time(msg.payload.get("timestamp", ""))
    case.check(stamp is not None, f"SecurityEventNotification({kind}) with a readable timestamp",
               f"sent timestamp {msg.payload.get('timestamp')!r} (seq {msg.seq})", at=msg.mono_ns)
    clock_offset_s(case, msg)
    latency = (msg.mono_ns - cause.sent_mono_ns) / 1e9
    case.measure(f"security.event_latency.{kind}", latency,
                 evidence=[cause.frame_seqs[0], msg.seq])
    case.collect("security.event_latency", latency, evidence=[cause.frame_seqs[0], msg.seq])
    return msg


async def wait_new_connection(case: Case, since_generation: int, within: float,
                              what: str) -> int:
    """The stamp of the first connection the endpoint accepted after `since_generation`;
    on timeout a FAIL naming the refused handshakes seen meanwhile."""
    station = case.station
    started = time.monotonic_ns()
    deadline = time.monotonic() + within
    with case.waiting(what, within):
        while not (station.connected and station.generation > since_generation):
            if time.monotonic() >= deadline:
                refused = [f"HTTP {h.status}: {h.reason}" for h in station.refusals(started)]
                case.check(False, what + f" within {within:g} s",
                           "did not get in; the endpoint refused "
                           + ("; ".join(refused[-3:]) + f" ({len(refused)} refusal(s))"
                              if refused else "nothing: no attempt reached the HTTP "
                              "handshake (a refused TLS handshake is the record's handshake "
                              "event tls-refused)"))
            await asyncio.sleep(0.05)
    return int(station.connected_mono_ns or time.monotonic_ns())


async def signed_firmware_statuses(case: Case, request_id: int, after: int, within: float,
                                   final: tuple[str, ...]) -> list[Any]:
    """SignedFirmwareStatusNotification of `request_id` after `after`, up to one in `final`."""
    msgs: list[Any] = []
    deadline = time.monotonic() + within
    while True:
        left = max(0.05, deadline - time.monotonic())
        msg = await expect(case, "SignedFirmwareStatusNotification", {"requestId": request_id},
                           after=after, within=left, trigger="the SignedUpdateFirmware")
        msgs.append(msg)
        after = msg.mono_ns
        if msg.payload.get("status") in final:
            return msgs


def check_subsequence(case: Case, msgs: list[Any], required: list[str], allowed: set[str],
                      what: str) -> None:
    """`required` statuses in this order among `msgs`, every other one in `allowed`."""
    seen = [m.payload.get("status") for m in msgs]
    odd = [s for s in seen if s not in required and s not in allowed]
    case.check(not odd, f"{what}: only statuses of the whitepaper's chain",
               f"sent {', '.join(odd)} (all: {' -> '.join(seen)})",
               at=msgs[-1].mono_ns if msgs else None)
    it = iter(seen)
    in_order = all(any(s == r for s in it) for r in required)
    case.check(in_order, f"{what}: {' -> '.join(required)} in this order",
               f"sent {' -> '.join(seen)}", at=msgs[-1].mono_ns if msgs else None)


async def forced_reconnection(case: Case, what: str, within: float | None = None) -> list[Any]:
    """Cut the station's connection (reconnects not refused) and wait for its next accepted
    one: the handshakes of that reconnection, every attempt since the cut, the accepted one
    last (bench.csms.station.HandshakeSeen)."""
    station = case.station
    generation = station.generation
    cut = time.monotonic_ns()
    await station.disconnect()
    await wait_new_connection(case, generation, within or case.setting("security_reconnect_s"),
                              what)
    for _ in range(20):  # the accepted handshake is recorded as its response goes out
        seen = [h for h in station.handshakes if h.mono_ns >= cut]
        if seen and seen[-1].accepted:
            break
        await asyncio.sleep(0.05)
    return seen


def attempts_text(seen: list[Any]) -> str:
    """'attempt 1 refused (HTTP 400: ...), attempt 2 accepted' for a FAIL message."""
    return ", ".join(f"attempt {i} " + ("accepted" if h.accepted else
                                        f"refused (HTTP {h.status}: {h.reason})")
                     for i, h in enumerate(seen, 1))

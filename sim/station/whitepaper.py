"""The simulated station's side of the OCPP 1.6 Security whitepaper (edition 2).

Certificates (its own key pair and CSR, the roots the CSMS installs, the certificate the CSMS
signs), the security log and its upload (GetLog), signed firmware (SignedUpdateFirmware), the
AuthorizationKey and SecurityProfile keys, and SecurityEventNotification for every security
event. Everything it must keep lives in the station's store (its flash): keys, certificates,
the log and the events not delivered yet.

On only with StationConfig.security_whitepaper (the SmartDC default is Core only).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import ssl
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from bench.pki import HASH_ALGORITHMS, certificate_hash_data, issuer_public_key, verify_signature
from sim.station.keys import KeySpec
from sim.station.link import CallTimeout, LinkDown, PeerError
from sim.station.meter import iso_utc
from sim.station.transfer import SCHEMES, TRANSFER_TIMEOUT_S, download, upload

if TYPE_CHECKING:
    from sim.station.link import Link
    from sim.station.station import StationSimulator

log = logging.getLogger(__name__)

ROOT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
MASKED = "(write-only)"  # what GetConfiguration shows for the AuthorizationKey
TRIGGERS = ("SignChargePointCertificate", "Heartbeat", "LogStatusNotification",
            "FirmwareStatusNotification")


def whitepaper_keys() -> dict[str, KeySpec]:
    """The configuration keys of the whitepaper's §9 the station implements."""
    return {k.name: k for k in (
        KeySpec("AuthorizationKey", MASKED),
        KeySpec("CpoName", "Bench CPO"),
        KeySpec("SecurityProfile", "0", "int", minimum=0, maximum=3),
        KeySpec("CertificateStoreMaxLength", "8", "int", readonly=True, minimum=0),
        KeySpec("CertificateSignedMaxChainSize", "10000", "int", readonly=True, minimum=0),
        KeySpec("AdditionalRootCertificateCheck", "false", "bool", readonly=True),
    )}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _load_chain(text: str) -> list[x509.Certificate]:
    """Every certificate of a PEM chain; ValueError when there is none or one is broken."""
    certs = x509.load_pem_x509_certificates(text.encode("ascii", "replace"))
    if not certs:
        raise ValueError("no certificate in the PEM text")
    return certs


def _valid_now(cert: x509.Certificate) -> bool:
    now = _now()
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _same_hex(a: object, b: object, number: bool) -> bool:
    """Hex text equal without case; a number (the serial) also without leading zeros."""
    x, y = str(a).lower(), str(b).lower()
    return (x.lstrip("0") or "0") == (y.lstrip("0") or "0") if number else x == y


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature or an unsupported key
        return False
    return True


class Whitepaper:
    """State and CSMS calls of the security extensions of one station."""

    def __init__(self, station: StationSimulator) -> None:
        self.st = station
        self.firmware_status = "Idle"
        self.log_status = "Idle"
        self._event_wakeup = asyncio.Event()
        self._plain: tuple[str, Any] | None = None  # profile 1's URL and TLS, once raised
        self._cert_dir: Any = None  # tempfile.TemporaryDirectory of a renewed certificate

    # --- hooks of station.py / handlers.py -----------------------------------------------
    def handlers(self) -> dict[str, Any]:
        return {"ExtendedTriggerMessage": self.extended_trigger,
                "CertificateSigned": self.certificate_signed,
                "InstallCertificate": self.install_certificate,
                "GetInstalledCertificateIds": self.get_installed_ids,
                "DeleteCertificate": self.delete_certificate,
                "GetLog": self.get_log,
                "SignedUpdateFirmware": self.signed_update_firmware}

    def restore(self) -> None:
        """After power-up: the key, profile and certificates from flash; the security
        profile that a Reset was waiting for takes effect now."""
        pending = self.st.store.get("security_profile_pending")
        if pending is not None:
            self.st.store.put("security_profile", pending)
            self.st.store.delete("security_profile_pending")
        profile = self.st.store.get("security_profile", self.st.cfg.security.profile)
        self.st.keys["SecurityProfile"] = self.st.keys["SecurityProfile"].with_value(str(profile))
        key_hex = self.st.store.get("authorization_key_hex")
        if key_hex:
            self._use_key(bytes.fromhex(key_hex))
        if profile == 2 and self.st.url.startswith("ws://"):
            self._use_tls()
        if (profile == 3 and self.st.store.get("station_certificate")
                and not self.st.fault("keeps_old_certificate")):
            self._use_station_certificate()
        self.event("StartupOfTheDevice", "power-up or reboot")

    def _use_tls(self) -> None:
        """Raised to profile 2: the same CSMS address over wss://, the CSMS verified against
        the installed Central System roots, HTTP Basic as before."""
        self._plain = (self.st.url, self.st._ssl)  # what a station that falls back goes to
        url = self.st.url.replace("ws://", "wss://", 1)
        roots = "".join(c["pem"] for c in self._installed("CentralSystemRootCertificate"))
        ctx = ssl.create_default_context(cadata=roots)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.st.url, self.st._ssl = url, ctx  # the Basic header stays as it is

    def connect_failed(self) -> None:
        """A connection attempt failed: the conformant station stays at its profile; the
        fault falls_back_to_lower_profile returns to the plain connection of profile 1."""
        plain = self._plain
        if plain is not None and self.st.fault("falls_back_to_lower_profile"):
            self.st.url, self.st._ssl = plain
            self.event("ReconfigurationOfSecurityParameters", "fell back to profile 1")

    def change_configuration(self, name: str, value: str) -> dict | None:
        """The whitepaper's keys; None: not one of them (the Core handler goes on)."""
        if name == "AuthorizationKey":
            return self._change_key(value)
        if name == "SecurityProfile":
            return self._change_profile(value)
        return None

    async def deliver_events(self, link: Link) -> None:
        """Send the queued SecurityEventNotifications, oldest first, while online."""
        while True:
            queue = self.st.store.get("security_events", [])
            if not queue:
                self._event_wakeup.clear()
                await self._event_wakeup.wait()
                continue
            try:
                await link.call("SecurityEventNotification", queue[0])
            except PeerError as exc:  # refused: not sent again (it is in the log)
                log.warning("station: SecurityEventNotification refused: %s", exc)
            except (CallTimeout, LinkDown):
                return  # kept for the next connection
            rest = self.st.store.get("security_events", [])
            self.st.store.put("security_events", rest[1:])

    @property
    def identity(self) -> str:
        """The charge point identity: the last segment of the CSMS URL."""
        return unquote(urlsplit(self.st.url).path.rstrip("/").rsplit("/", 1)[-1])

    # --- security events and the log ----------------------------------------------------
    def event(self, kind: str, tech_info: str = "") -> None:
        """Log a security event and queue its notification (critical or not, the station
        tells the CSMS of each: the whitepaper leaves that to the station)."""
        stamp = iso_utc(self.st.clock())
        self.st.store.put("security_log",
                          [*self.st.store.get("security_log", []),
                           f"{stamp} {kind} {tech_info}".rstrip()][-500:])
        if self.st.fault("no_security_events"):
            return
        payload: dict[str, Any] = {"type": kind, "timestamp": stamp}
        if tech_info:
            payload["techInfo"] = tech_info[:255]
        self.st.store.put("security_events", [*self.st.store.get("security_events", []), payload])
        self._event_wakeup.set()

    # --- AuthorizationKey and SecurityProfile -------------------------------------------
    def _change_key(self, value: str) -> dict:
        try:  # the whitepaper's key is written as hex (20 bytes = 40 characters)
            key = bytes.fromhex(value)
        except ValueError:
            return {"status": "Rejected"}
        if not 16 <= len(key) <= 20:
            return {"status": "Rejected"}
        self.event("ReconfigurationOfSecurityParameters", "AuthorizationKey changed")
        if not self.st.fault("password_not_applied"):  # the fault: answered, then forgotten
            self.st.store.put("authorization_key_hex", key.hex())
            self._use_key(key)
        self.st.spawn(self._reconnect_soon())
        return {"status": "Accepted"}

    def _use_key(self, key: bytes) -> None:
        # the Basic header of every connection from now on (the key itself stays out of logs)
        security = replace(self.st.cfg.security, authorization_key=key)
        self.st._auth_headers = security.headers(self.st.url)

    async def _reconnect_soon(self) -> None:
        await asyncio.sleep(0.2)  # the answer first
        if self.st.link is not None:
            await self.st.link.close()

    def _change_profile(self, value: str) -> dict:
        try:
            wanted = int(value)
        except ValueError:
            return {"status": "Rejected"}
        current = self.st.key_int("SecurityProfile")
        lower = wanted <= current
        if not 0 <= wanted <= 3 or (lower and not self.st.fault("accepts_lower_profile")):
            return {"status": "Rejected"}  # upgrade only (whitepaper §9, SecurityProfile)
        if wanted >= 2 and not self._installed("CentralSystemRootCertificate"):
            return {"status": "Rejected"}  # nothing to verify the CSMS with
        if wanted == 3:  # the simulator connects with a client certificate from its config
            return {"status": "Rejected"}  # only, not from the one the CSMS signed
        self.st.store.put("security_profile_pending", wanted)
        self.event("ReconfigurationOfSecurityParameters", f"SecurityProfile {current} -> "
                   f"{wanted} after the next reboot")
        return {"status": "Accepted"}

    # --- certificates --------------------------------------------------------------------
    def _installed(self, kind: str | None = None) -> list[dict[str, str]]:
        return [c for c in self.st.store.get("certificates", [])
                if kind is None or c["type"] == kind]

    def _installed_certs(self, kind: str | None = None) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(c["pem"].encode()) for c in self._installed(kind)]

    async def install_certificate(self, p: dict) -> dict:
        kind, text = p["certificateType"], p["certificate"]
        try:
            cert = _load_chain(text)[0]
            problem = None if _is_ca(cert) else "not a CA certificate"
            if problem is None and not _valid_now(cert):
                problem = "outside its validity period"
        except ValueError as exc:
            cert, problem = None, f"unreadable: {exc}"
        if problem is not None and not self.st.fault("invalid_certificate_accepted"):
            self.event("InvalidCentralSystemCertificate" if kind == ROOT_TYPES[0]
                       else "InvalidFirmwareSigningCertificate", f"{kind} {problem}")
            return {"status": "Rejected"}
        if cert is None:
            return {"status": "Rejected"}
        if len(self._installed()) >= self.st.key_int("CertificateStoreMaxLength", 8):
            return {"status": "Failed"}
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        if pem not in [c["pem"] for c in self._installed(kind)]:
            self.st.store.put("certificates", [*self._installed(), {"type": kind, "pem": pem}])
        return {"status": "Accepted"}

    def _hash_data(self, cert: x509.Certificate, algorithm: str) -> dict[str, str]:
        issuers = self._installed_certs()
        return certificate_hash_data(cert, issuer_public_key(cert, issuers), algorithm)

    async def get_installed_ids(self, p: dict) -> dict:
        certs = self._installed_certs(p["certificateType"])
        algorithm = "SHA512" if self.st.behaves("hash_data_sha512") else "SHA256"
        if not certs:
            return {"status": "NotFound"}
        return {"status": "Accepted",
                "certificateHashData": [self._hash_data(c, algorithm) for c in certs]}

    async def delete_certificate(self, p: dict) -> dict:
        wanted = p["certificateHashData"]
        algorithm = wanted["hashAlgorithm"]
        if self.st.fault("delete_sha256_only") and algorithm != "SHA256":
            return {"status": "NotFound"}
        keep, found = [], False
        for entry in self._installed():
            cert = x509.load_pem_x509_certificate(entry["pem"].encode())
            mine = self._hash_data(cert, algorithm)
            if all(_same_hex(mine[k], wanted[k], k == "serialNumber")
                   for k in ("issuerNameHash", "issuerKeyHash", "serialNumber")):
                found = True
                continue
            keep.append(entry)
        if not found:
            return {"status": "NotFound"}
        self.st.store.put("certificates", keep)
        return {"status": "Accepted"}

    def _private_key(self):
        pem = self.st.store.get("station_key_pem")
        if pem:
            return serialization.load_pem_private_key(pem.encode(), None)
        return None

    def _new_csr(self) -> str:
        """A fresh key pair (kept in flash) and its PKCS#10 request, PEM."""
        if self.st.fault("csr_short_key"):
            key: Any = rsa.generate_private_key(65537, 1024)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
        self.st.store.put("station_key_pending_pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode("ascii"))
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.st.key("CpoName") or "CPO"),
            x509.NameAttribute(NameOID.COMMON_NAME, self.identity)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
            key, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")

    async def extended_trigger(self, p: dict) -> dict:
        what = p["requestedMessage"]
        if what not in TRIGGERS:
            return {"status": "NotImplemented"}
        self.st.spawn(self._triggered(what))
        return {"status": "Accepted"}

    async def _triggered(self, what: str) -> None:
        await asyncio.sleep(0.05)  # the answer first
        link = self.st.link
        if link is None:
            return
        try:
            if what == "SignChargePointCertificate":
                await link.call("SignCertificate", {"csr": self._new_csr()})
            elif what == "Heartbeat":
                await link.call("Heartbeat", {})
            elif what == "LogStatusNotification":
                await link.call("LogStatusNotification", {"status": self.log_status})
            else:
                await link.call("SignedFirmwareStatusNotification",
                                {"status": self.firmware_status})
        except (PeerError, CallTimeout, LinkDown) as exc:
            log.info("station: triggered %s failed: %s", what, exc)

    async def certificate_signed(self, p: dict) -> dict:
        problem = self._check_signed(p["certificateChain"])
        if problem is not None and not self.st.fault("invalid_certificate_accepted"):
            self.event("InvalidChargePointCertificate", problem)
            return {"status": "Rejected"}
        pending = self.st.store.get("station_key_pending_pem")
        if pending:
            self.st.store.put("station_key_pem", pending)
            self.st.store.delete("station_key_pending_pem")
        self.st.store.put("station_certificate", p["certificateChain"])
        if self.st.key_int("SecurityProfile") == 3:  # the new certificate from the next
            if not self.st.fault("keeps_old_certificate"):  # connection on: reconnect
                self._use_station_certificate()
            self.st.spawn(self._reconnect_soon())
        return {"status": "Accepted"}

    def _use_station_certificate(self) -> None:
        """Profile 3: TLS with the certificate the CSMS signed (files in a private folder:
        the ssl module loads a key from a file only)."""
        import tempfile
        from pathlib import Path

        if self._cert_dir is None:  # removed when the station object goes (or at exit)
            self._cert_dir = tempfile.TemporaryDirectory(prefix="station-cert-")
        folder = Path(self._cert_dir.name)
        folder.chmod(0o700)
        cert, key = folder / "station.pem", folder / "station.key"
        cert.write_text(self.st.store.get("station_certificate"), "ascii")
        key.write_text(self.st.store.get("station_key_pem"), "ascii")
        key.chmod(0o600)
        security = replace(self.st.cfg.security, client_cert=cert, client_key=key)
        self.st._ssl = security.ssl_context(self.st.url)

    def _check_signed(self, chain_text: str) -> str | None:
        """Why the station must refuse this certificate chain (None: it is good)."""
        if len(chain_text) > self.st.key_int("CertificateSignedMaxChainSize", 10000):
            return "chain longer than CertificateSignedMaxChainSize"
        try:
            chain = _load_chain(chain_text)
        except ValueError as exc:
            return f"unreadable chain: {exc}"
        leaf = chain[0]
        if not _valid_now(leaf):
            return "certificate outside its validity period"
        pending = self.st.store.get("station_key_pending_pem")
        key = (serialization.load_pem_private_key(pending.encode(), None) if pending
               else self._private_key())
        if key is None or key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
                leaf.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo):
            return "the certificate is not for the station's key"
        cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not cns or cns[0].value != self.identity:
            return "commonName is not the charge point identity"
        roots = self._installed_certs("CentralSystemRootCertificate")
        if not self._chains_to(chain, roots):
            return "not issued under an installed CentralSystemRootCertificate"
        return None

    @staticmethod
    def _chains_to(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> bool:
        current = chain[0]
        for _ in range(len(chain) + 1):
            if any(_signed_by(current, r) for r in roots):
                return True
            parent = next((c for c in chain[1:] if _signed_by(current, c) and _is_ca(c)
                           and _valid_now(c)), None)
            if parent is None:
                return False
            current = parent
        return False

    # --- the security log: GetLog --------------------------------------------------------
    async def get_log(self, p: dict) -> dict:
        if p["logType"] != "SecurityLog" or not self._can_transfer(p["log"]["remoteLocation"]):
            return {"status": "Rejected"}
        name = f"security-{self.identity}-{p['requestId']}.log"
        self.st.spawn(self._upload_log(p, name))
        return {"status": "Accepted", "filename": name}

    @staticmethod
    def _can_transfer(url: str) -> bool:
        return urlsplit(url).scheme.lower() in SCHEMES

    async def _upload_log(self, p: dict, name: str) -> None:
        await asyncio.sleep(0.05)
        request_id = p["requestId"]
        lines = self.st.store.get("security_log", [])
        body = ("\n".join(lines) + "\n").encode("utf-8")
        await self._log_status("Uploading", request_id)
        tries = max(1, int(p.get("retries", 0) or 0) + 1)
        for attempt in range(tries):
            try:
                if not self.st.fault("security_log_not_uploaded"):
                    await asyncio.to_thread(upload, p["log"]["remoteLocation"], name, body,
                                            TRANSFER_TIMEOUT_S, "text/plain")
                await self._log_status("Uploaded", request_id)
                return
            except OSError as exc:
                log.info("station: log upload %d/%d failed: %s", attempt + 1, tries, exc)
                await self.st.sleep(float(p.get("retryInterval", 0) or 0))
        await self._log_status("UploadFailure", request_id)

    async def _log_status(self, status: str, request_id: int) -> None:
        self.log_status = status
        await self._notify("LogStatusNotification", {"status": status, "requestId": request_id})

    async def _notify(self, action: str, payload: dict) -> None:
        link = self.st.link
        if link is None:
            return
        try:
            await link.call(action, payload)
        except (PeerError, CallTimeout, LinkDown) as exc:
            log.info("station: %s %s failed: %s", action, payload.get("status"), exc)

    # --- signed firmware -----------------------------------------------------------------
    async def signed_update_firmware(self, p: dict) -> dict:
        fw = p["firmware"]
        try:
            signer = _load_chain(fw["signingCertificate"])[0]
        except ValueError:
            signer = None
        roots = self._installed_certs("ManufacturerRootCertificate")
        if signer is None or not _valid_now(signer) or not any(_signed_by(signer, r)
                                                               for r in roots):
            self.event("InvalidFirmwareSigningCertificate",
                       "signing certificate not issued under an installed "
                       "ManufacturerRootCertificate")
            return {"status": "InvalidCertificate"}
        if not self._can_transfer(fw["location"]):
            return {"status": "Rejected"}
        self.st.spawn(self._firmware_flow(p, signer))
        return {"status": "Accepted"}

    async def _fw_status(self, status: str, request_id: int) -> None:
        self.firmware_status = status
        await self._notify("SignedFirmwareStatusNotification",
                           {"status": status, "requestId": request_id})

    async def _firmware_flow(self, p: dict, signer: x509.Certificate) -> None:
        await asyncio.sleep(0.05)
        fw, request_id = p["firmware"], p["requestId"]
        await self._fw_status("Downloading", request_id)
        try:
            image = await asyncio.to_thread(download, fw["location"], TRANSFER_TIMEOUT_S)
        except OSError as exc:
            log.info("station: firmware download failed: %s", exc)
            await self._fw_status("DownloadFailed", request_id)
            return
        await self._fw_status("Downloaded", request_id)
        try:
            signature = base64.b64decode(fw["signature"], validate=True)
        except ValueError:
            signature = b""
        good = verify_signature(signer.public_key(), signature, image)
        if not good and not self.st.fault("bad_signature_installed"):
            self.event("InvalidFirmwareSignature", f"firmware of request {request_id}")
            await self._fw_status("InvalidSignature", request_id)
            return
        await self._fw_status("SignatureVerified", request_id)
        await self._fw_status("Installing", request_id)
        await self.st.sleep(0.2)
        self.st.store.put("firmware_installed_request", request_id)
        if not self.st.behaves("firmware_without_install_rebooting"):
            await self._fw_status("InstallRebooting", request_id)
        await self.st.reset("Hard")

    async def after_boot(self, link: Link) -> None:
        """A firmware installed before the reboot: Installed, and the FirmwareUpdated event."""
        request_id = self.st.store.get("firmware_installed_request")
        if request_id is None:
            return
        self.st.store.delete("firmware_installed_request")
        self.event("FirmwareUpdated", f"firmware of request {request_id} installed")
        self.firmware_status = "Installed"
        try:
            await link.call("SignedFirmwareStatusNotification",
                            {"status": "Installed", "requestId": request_id})
        except (PeerError, CallTimeout, LinkDown) as exc:
            log.info("station: SignedFirmwareStatusNotification Installed failed: %s", exc)


__all__ = ["HASH_ALGORITHMS", "ROOT_TYPES", "Whitepaper", "whitepaper_keys"]

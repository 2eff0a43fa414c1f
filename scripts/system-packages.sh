#!/usr/bin/env bash
# Installs the Debian packages the bench needs, when root and missing; otherwise says
# exactly which are missing and what will not work without them. Idempotent.
set -u
missing=()
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit $?
fi
echo "setup: not root, cannot install these Debian packages: ${missing[*]}" >&2
for pkg in "${missing[@]}"; do
    case "$pkg" in
        libpcsclite-dev) echo "  - libpcsclite-dev: pyscard cannot be built; the RFID path does not install" >&2 ;;
        pcscd|vsmartcard-vpcd) echo "  - $pkg: no virtual RFID reader; the simulated rig cannot present cards" >&2 ;;
        chromium) echo "  - chromium: no report.pdf, the HTML render and PDF tests are skipped (fail in CI)" >&2 ;;
        poppler-utils) echo "  - poppler-utils: the PDF test cannot read report.pdf (skipped; fails in CI)" >&2 ;;
        postgresql) echo "  - postgresql: bench history --db postgresql:// works against a remote server only; its test is skipped (fails in CI)" >&2 ;;
    esac
done
echo "  ask an administrator: apt-get install ${missing[*]}" >&2
# libpcsclite-dev is needed to build pyscard at all
for pkg in "${missing[@]}"; do [ "$pkg" = libpcsclite-dev ] && exit 1; done
exit 0

#!/usr/bin/env bash
# Builds Privet and runs every test. Installs what the tests need when it is missing:
#   libpcap-dev   the capture library PacketIO wraps
#   tshark        the dissector the wire layer is cross-checked against (brings editcap)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev tshark

swift build
swift test "$@"

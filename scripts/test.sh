#!/usr/bin/env bash
# Builds Privet and runs every test. Installs what the tests need when it is missing:
#   libpcap-dev   the capture library PacketIO wraps
#   tshark        the dissector the wire layer is cross-checked against (brings editcap)
#   iproute2      `ip netns`, for the live tests (run as root)
#   curl, dnsutils (dig), iperf3
#                 the real programs the live tests run through Privet
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev tshark iproute2 curl dnsutils iperf3

swift build
swift test "$@"

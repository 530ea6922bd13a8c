#!/usr/bin/env bash
# Builds Privet in release and runs `privet demo`; arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev

swift build -c release --product privet
.build/release/privet demo "$@"

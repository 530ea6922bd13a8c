#!/usr/bin/env bash
# Builds Privet in release and runs `privet demo`; arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev

echo "building privet (release)..." >&2
if ! log=$(swift build -c release --product privet 2>&1); then
    echo "$log" >&2
    exit 1
fi
.build/release/privet demo "$@"

#!/usr/bin/env bash
# Runs the benchmarks of Benchmarks/ (package-benchmark): time per operation and mallocs.
# Arguments go to `swift package benchmark`, e.g. `--filter "Parse.*"`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev

cd Benchmarks
swift package benchmark --no-progress "$@"

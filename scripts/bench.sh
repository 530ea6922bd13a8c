#!/usr/bin/env bash
# Runs the benchmarks of Benchmarks/ (package-benchmark): time per operation and mallocs.
#   scripts/bench.sh                      run them all and print the tables
#   scripts/bench.sh --filter "New.*"     arguments go to `swift package benchmark`
#   scripts/bench.sh check                compare against the thresholds kept in Benchmarks/Thresholds
#                                         (exit status 2 on a regression: a malloc on the hot path, or
#                                         a median more than 30% slower)
#   scripts/bench.sh update               record the current figures as the thresholds
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev

cd Benchmarks
case "${1:-}" in
    check) shift; swift package benchmark thresholds check --no-progress "$@" ;;
    update) shift; swift package --allow-writing-to-package-directory benchmark thresholds update --no-progress "$@" ;;
    *) swift package benchmark --no-progress "$@" ;;
esac

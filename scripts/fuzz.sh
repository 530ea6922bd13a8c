#!/usr/bin/env bash
# Fuzzes the wire layer with libFuzzer and AddressSanitizer for SECONDS (default 60).
# A crash leaves its input in .build-fuzz/ and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
mkdir -p .build-fuzz/corpus
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name PacketWire \
    Sources/PacketWire/*.swift Fuzz/WireFuzz.swift -o .build-fuzz/wire-fuzz
cd .build-fuzz
SWIFT_BACKTRACE=enable=no ./wire-fuzz -max_total_time="$seconds" -max_len=2048 corpus

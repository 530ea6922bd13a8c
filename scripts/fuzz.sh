#!/usr/bin/env bash
# Fuzzes what Privet reads from outside with libFuzzer and AddressSanitizer:
#   wire       packet bytes through every validating view of the wire layer
#   topology   topology files: YAML read, checked, resolved, described, compiled
#   template   CloudFormation templates: read, evaluated, imported, the topology written and read back
#   capture    pcap and pcapng files through libpcap, dissected and printed as `inspect` does
#   dns        DNS queries to a VPC resolver, and responses read by the demo's stub
# Usage: scripts/fuzz.sh [TARGET|all] [SECONDS] [-- LIBFUZZER-OPTIONS...]   (default: all, 60 s each)
# e.g. scripts/fuzz.sh topology 0 -- -runs=10000000 to run ten million inputs.
# Each target starts from its seeds in Fuzz/Seeds/ (the topology target from Examples/ too, the
# template target from the test templates in Tests/TopologyTests/Templates/)
# and keeps what it finds in .build-fuzz/corpus/TARGET. A crash leaves its input in .build-fuzz/
# and exits non-zero; the run ends by printing how many inputs each target ran.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-all}"
seconds="${2:-60}"
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
case "$target" in
    all) targets=(wire topology template capture dns) ;;
    wire|topology|template|capture|dns) targets=("$target") ;;
    *) echo "usage: scripts/fuzz.sh [wire|topology|template|capture|dns|all] [SECONDS] [-- LIBFUZZER-OPTIONS...]" >&2; exit 2 ;;
esac
. scripts/lib/packages.sh
ensure_packages libpcap-dev

product() {
    case "$1" in wire) echo WireFuzz ;; topology) echo TopologyFuzz ;; template) echo TemplateFuzz ;; capture) echo CaptureFuzz ;; dns) echo DNSFuzz ;; esac
}

for name in "${targets[@]}"; do
    # lld: gold fails on the sanitizers' debug information.
    swift build --package-path Fuzz -c release --scratch-path .build-fuzz/spm --product "$(product "$name")" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
done
for name in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$name
    mkdir -p "$corpus"
    seeds=(Fuzz/Seeds/"$name")
    [ "$name" = topology ] && seeds+=(Examples)
    [ "$name" = template ] && seeds+=(Tests/TopologyTests/Templates)
    limit=()
    [ "$seconds" != 0 ] && limit=(-max_total_time="$seconds")
    echo "== $name" >&2
    log=.build-fuzz/$name.log
    # No allocation stacks kept: a third of the time otherwise, and a crash still reports where.
    (cd .build-fuzz && ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}" SWIFT_BACKTRACE=enable=no "spm/release/$(product "$name")" "${limit[@]}" -max_len=16384 \
        -print_final_stats=1 "corpus/$name" "${seeds[@]/#/../}" "$@") 2>&1 | tee "$log" | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|stat::number_of_executed_units" >&2
    grep -q "stat::number_of_executed_units" "$log" || { echo "$name: the fuzzer stopped early; see $log" >&2; exit 1; }
done

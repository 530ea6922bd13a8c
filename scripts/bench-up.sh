#!/usr/bin/env bash
# How long `privet up` takes to be ready, and `privet down` to remove everything, for the
# default topology with EXTRA more client hosts (root). Prints both figures.
#   EXTRA=150 scripts/bench-up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

[ "$(id -u)" -eq 0 ] || { echo "bench-up.sh needs root (namespaces)" >&2; exit 1; }
ensure_packages libpcap-dev iproute2
swift build -c release --product privet >/dev/null
privet=$PWD/.build/release/privet
extra="${EXTRA:-150}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The default topology, and EXTRA clients spread over the consumer's two app subnets.
"$privet" describe default --yaml > "$work/bench-up.yaml"
python3 - "$work/bench-up.yaml" "$extra" <<'PY'
import sys
path, extra = sys.argv[1], int(sys.argv[2])
text = open(path).read()
hosts = "".join("  - {name: extra-%d, subnet: consumer-app-%s}\n" % (n, "ab"[n % 2]) for n in range(extra))
marker = "hosts:\n"
assert marker in text
open(path, "w").write(text.replace(marker, marker + hosts, 1))
PY
"$privet" validate "$work/bench-up.yaml" >/dev/null

now() { date +%s%N; }
start=$(now)
"$privet" up "$work/bench-up.yaml" > "$work/up.log" 2>&1 &
pid=$!
until grep -q "^Forwarding on " "$work/up.log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/up.log" >&2; exit 1; }
    sleep 0.05
done
ready=$(( ($(now) - start) / 1000000 ))
hosts=$(grep -c "privet-bench-up-" "$work/up.log" || true)
start=$(now)
"$privet" down "$work/bench-up.yaml" >/dev/null
wait "$pid" || true
removed=$(( ($(now) - start) / 1000000 ))
left=$(ip netns list | grep -c "privet-bench-up-" || true)
echo "up of $hosts hosts: ready in $ready ms; down: $removed ms ($left namespaces left)"

#!/usr/bin/env bash
# What GWLB inspection costs live, against the same path without it, in one run: on the default
# topology, client-a's IPv4 to the internet server goes through the GWLB endpoint (GENEVE to
# appliance-a, the reference appliance, and back) while its IPv6 goes straight to the internet
# gateway. Same hosts, same MTU (1500 on the internet side), one TCP stream each way; runs
# alternate, medians and ratios are printed.
#   RUNS=3 SECONDS_PER_RUN=5 scripts/bench-inspection.sh          (root)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh
. scripts/lib/iperf.sh

ensure_packages iproute2 iperf3
live_bench_init bench-inspection.sh
up_pid=""
cleanup() {
    [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
    "$privet" down default >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"$privet" up default > "$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 100); do grep -q "^Forwarding" "$work/up.log" && break; sleep 0.1; done
grep -q "^Forwarding" "$work/up.log" || { cat "$work/up.log" >&2; exit 1; }

client=privet-default-client-a server=privet-default-internet-server
inspected=(); direct=()
for run in $(seq "$runs"); do
    inspected+=($(measure tcp "$server" "$client" 198.51.100.10))
    direct+=($(measure tcp "$server" "$client" 2001:db8::10))
    echo "run $run: inspected (IPv4, GWLB) $((inspected[-1] / 1000000)) Mbit/s, direct (IPv6, internet gateway) $((direct[-1] / 1000000)) Mbit/s"
done
kill "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
echo "privet up said on exit:"; sed -n '/packets forwarded/,$p' "$work/up.log"
python3 - "${inspected[*]}" "${direct[*]}" <<'PY'
import statistics, sys
inspected, direct = ([int(x) for x in arg.split()] for arg in sys.argv[1:3])
mi, md = statistics.median(inspected), statistics.median(direct)
print(f"TCP single stream (median): through GWLB inspection {mi/1e9:.2f} Gbit/s, direct {md/1e9:.2f} Gbit/s, ratio {mi/md:.2f}x")
PY

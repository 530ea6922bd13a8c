#!/usr/bin/env bash
# Live throughput, side by side with the kernel. The same iperf3 runs go
#   - through Privet: `privet up scripts/bench-live.yaml`, TCP from client to the interface
#     endpoint (NLB translation to the target), UDP from client to peer (plain VPC routing);
#   - through the kernel doing the NLB's job: a router namespace with nftables DNAT to the target
#     and SNAT to its own address, veth pairs, the same addresses and MTU (9001).
# Runs alternate (Privet, kernel, ...); medians and ratios are printed. TCP is one stream, then
# four (`iperf3 -P 4`, their sum); UDP sends 64-byte datagrams as fast as iperf3 can, and the
# figure is datagrams received per second. Exits non-zero only when something fails to run.
# Privet's TUN devices use IFF_VNET_HDR offloads (64 KB TCP packets); OFFLOADS=0 measures it
# without them (one MTU-sized packet per system call). Privet runs its default workers (one a
# core); WORKERS=N sets them. The handoffs between workers are in what `up` says on exit.
#   RUNS=3 SECONDS_PER_RUN=5 [OFFLOADS=0] [WORKERS=N] scripts/bench-live.sh          (root)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh
. scripts/lib/iperf.sh

ensure_packages iproute2 iperf3 nftables
live_bench_init bench-live.sh
up_pid=""

cleanup() {
    [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
    "$privet" down scripts/bench-live.yaml >/dev/null 2>&1 || true
    for ns in kernel-client kernel-router kernel-server kernel-peer; do ip netns delete "plb-$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The kernel's side: client 10.2.1.4 and peer 10.2.2.4 behind a router that owns the endpoint
# address 10.2.1.5 and DNATs it to the target 10.1.1.4, SNAT to its own 10.1.1.5 (the NLB node).
kernel_up() {
    for ns in client router server peer; do ip netns add "plb-kernel-$ns"; ip -n "plb-kernel-$ns" link set lo up; done
    link() { # namespace, router-side name, host-side name
        ip link add "$2" netns plb-kernel-router type veth peer name "$3" netns "plb-kernel-$1"
        ip -n plb-kernel-router link set "$2" mtu 9001 up
        ip -n "plb-kernel-$1" link set "$3" mtu 9001 up
    }
    link client r-client eth0
    link server r-server eth0
    link peer r-peer eth0
    ip -n plb-kernel-router address add 10.2.1.1/24 dev r-client
    ip -n plb-kernel-router address add 10.2.1.5/24 dev r-client
    ip -n plb-kernel-router address add 10.1.1.5/24 dev r-server
    ip -n plb-kernel-router address add 10.2.2.1/24 dev r-peer
    ip -n plb-kernel-client address add 10.2.1.4/24 dev eth0
    ip -n plb-kernel-server address add 10.1.1.4/24 dev eth0
    ip -n plb-kernel-peer address add 10.2.2.4/24 dev eth0
    ip -n plb-kernel-client route add default via 10.2.1.1
    ip -n plb-kernel-server route add default via 10.1.1.5
    ip -n plb-kernel-peer route add default via 10.2.2.1
    ip netns exec plb-kernel-router sysctl -qw net.ipv4.ip_forward=1
    ip netns exec plb-kernel-router nft -f - <<'NFT'
table ip nlb {
    chain prerouting { type nat hook prerouting priority dstnat; ip daddr 10.2.1.5 tcp dport 5201 dnat to 10.1.1.4; }
    chain postrouting { type nat hook postrouting priority srcnat; ip daddr 10.1.1.4 tcp dport 5201 snat to 10.1.1.5; }
}
NFT
}

privet_up() {
    local flags=()
    [ "${OFFLOADS:-1}" = 0 ] && flags+=(--no-offloads)
    [ -n "${WORKERS:-}" ] && flags+=(--workers "$WORKERS")
    "$privet" up scripts/bench-live.yaml "${flags[@]}" > "$work/up.log" 2>&1 &
    up_pid=$!
    for _ in $(seq 100); do grep -q "^Forwarding" "$work/up.log" && return 0; sleep 0.1; done
    cat "$work/up.log" >&2
    return 1
}

kernel_up
privet_up
tcp_privet=(); tcp_kernel=(); tcp4_privet=(); tcp4_kernel=(); udp_privet=(); udp_kernel=()
for run in $(seq "$runs"); do
    tcp_privet+=($(measure tcp privet-bench-live-server privet-bench-live-client 10.2.1.5))
    tcp_kernel+=($(measure tcp plb-kernel-server plb-kernel-client 10.2.1.5))
    tcp4_privet+=($(measure tcp4 privet-bench-live-server privet-bench-live-client 10.2.1.5))
    tcp4_kernel+=($(measure tcp4 plb-kernel-server plb-kernel-client 10.2.1.5))
    udp_privet+=($(measure udp privet-bench-live-peer privet-bench-live-client 10.2.2.4))
    udp_kernel+=($(measure udp plb-kernel-peer plb-kernel-client 10.2.2.4))
    echo "run $run: TCP privet $((tcp_privet[-1] / 1000000)) Mbit/s, kernel $((tcp_kernel[-1] / 1000000)) Mbit/s;" \
         "4 streams privet $((tcp4_privet[-1] / 1000000)) Mbit/s, kernel $((tcp4_kernel[-1] / 1000000)) Mbit/s;" \
         "UDP 64 B privet $((udp_privet[-1] / 1000)) kpps, kernel $((udp_kernel[-1] / 1000)) kpps"
done
kill "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
echo "privet up said on exit:"; sed -n '/packets forwarded/,$p' "$work/up.log"

python3 - "${tcp_privet[*]}" "${tcp_kernel[*]}" "${udp_privet[*]}" "${udp_kernel[*]}" "${tcp4_privet[*]}" "${tcp4_kernel[*]}" <<'PY'
import statistics, sys
tp, tk, up, uk, t4p, t4k = ([int(x) for x in arg.split()] for arg in sys.argv[1:7])
mtp, mtk, mup, muk, m4p, m4k = (statistics.median(x) for x in (tp, tk, up, uk, t4p, t4k))
print(f"TCP single stream (median): privet {mtp/1e9:.2f} Gbit/s, kernel {mtk/1e9:.2f} Gbit/s, ratio {mtp/mtk:.2f}x")
print(f"TCP four streams (median): privet {m4p/1e9:.2f} Gbit/s, kernel {m4k/1e9:.2f} Gbit/s, ratio {m4p/m4k:.2f}x")
print(f"UDP 64-byte datagrams (median): privet {mup/1e3:.0f} kpps, kernel {muk/1e3:.0f} kpps, ratio {mup/muk:.2f}x")
PY

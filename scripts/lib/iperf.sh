# Sourced by the live benchmarks: their settings, and one iperf3 run between two namespaces.

# Builds privet in release and sets $privet, $runs, $duration (seconds a run) and $work (a
# scratch folder); root only.
live_bench_init() { # the script's name
    [ "$(id -u)" -eq 0 ] || { echo "$1 needs root (namespaces, TUN devices)" >&2; exit 1; }
    swift build -c release --product privet >/dev/null
    privet=.build/release/privet
    runs="${RUNS:-3}"
    duration="${SECONDS_PER_RUN:-5}"
    work=$(mktemp -d)
}

# iperf3 between two namespaces; prints the figure (bits/s for TCP, datagrams/s for UDP).
# Kinds: tcp (one stream), tcp4 (four parallel streams, their sum), udp (64-byte datagrams).
measure() { # kind, server namespace, client namespace, address
    local kind=$1 server=$2 client=$3 address=$4
    ip netns exec "$server" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    local server_pid=$!
    sleep 0.3
    if [ "$kind" = tcp ]; then
        ip netns exec "$client" iperf3 -c "$address" -p 5201 -t "$duration" -J > "$work/out.json"
    elif [ "$kind" = tcp4 ]; then
        ip netns exec "$client" iperf3 -c "$address" -p 5201 -t "$duration" -P 4 -J > "$work/out.json"
    else
        ip netns exec "$client" iperf3 -c "$address" -p 5201 -t "$duration" -u -l 64 -b 0 -J > "$work/out.json"
    fi
    wait "$server_pid" || true
    python3 - "$kind" "$work/out.json" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
report = json.load(open(path))
if "error" in report: sys.exit("iperf3: " + report["error"])
end = report["end"]
if kind.startswith("tcp"):
    print(int(end["sum_received"]["bits_per_second"]))
else:
    s = end["sum"]
    print(int((s["packets"] - s["lost_packets"]) / s["seconds"]))
PY
}

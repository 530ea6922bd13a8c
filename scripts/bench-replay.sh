#!/usr/bin/env bash
# privet replay against tcprewrite on the same capture: a 1M-packet capture from `privet gen`,
# kept on tmpfs (/dev/shm) with the outputs, so the disk is not what is measured. Runs alternate
# (privet, tcprewrite, privet, ...), each after a plain copy of the capture on the same
# filesystem (cp: the limit any tool that reads and writes it all has); medians and their ratios
# are printed, and one summary line at the end. Exits non-zero only when something fails to run, never on a slow result.
# WORKERS=N replays with N workers (`privet replay --workers N`; default 1).
#   PACKETS=1000000 RUNS=5 [WORKERS=N] scripts/bench-replay.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev tcpreplay
swift build -c release --product privet >/dev/null
privet=.build/release/privet
packets="${PACKETS:-1000000}"
runs="${RUNS:-5}"
work=$(mktemp -d /dev/shm/privet-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$privet" describe --default --yaml > "$work/topology.yaml"
"$privet" gen "$work/topology.yaml" --output "$work/in.pcap" --packets "$packets" --seed 7
size=$(stat -c %s "$work/in.pcap")
echo "capture: $packets packets, $((size / packets)) bytes a packet on average (with record headers)"

now() { date +%s%N; }
privet_times=(); tcprewrite_times=(); dataplane_times=(); copy_times=()
for run in $(seq "$runs"); do
    rm -rf "$work/out" "$work/rewritten.pcap" "$work/copy.pcap"
    start=$(now)
    cp "$work/in.pcap" "$work/copy.pcap"
    copy_times+=($(( $(now) - start )))
    start=$(now)
    "$privet" replay "$work/topology.yaml" --input "$work/in.pcap" --output "$work/out" --workers "${WORKERS:-1}" --json > "$work/report.json"
    privet_times+=($(( $(now) - start )))
    dataplane_times+=($(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['timing']['dataplaneSeconds']*1e9))" "$work/report.json"))
    # The comparable job for tcprewrite: rewrite the consumer VPC's addresses both ways and fix
    # every checksum.
    start=$(now)
    tcprewrite --infile="$work/in.pcap" --outfile="$work/rewritten.pcap" \
        --srcipmap=10.20.0.0/16:10.120.0.0/16 --dstipmap=10.20.0.0/16:10.120.0.0/16 --fixcsum
    tcprewrite_times+=($(( $(now) - start )))
    echo "run $run: privet $(( privet_times[-1] / 1000000 )) ms, tcprewrite $(( tcprewrite_times[-1] / 1000000 )) ms, plain copy $(( copy_times[-1] / 1000000 )) ms"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
privet_median=$(median "${privet_times[@]}")
tcprewrite_median=$(median "${tcprewrite_times[@]}")
dataplane_median=$(median "${dataplane_times[@]}")
copy_median=$(median "${copy_times[@]}")
python3 - "$packets" "$privet_median" "$tcprewrite_median" "$dataplane_median" "$copy_median" <<'PY'
import sys
packets, privet, tcprewrite, dataplane, copy = (int(value) for value in sys.argv[1:])
print(f"replay {packets} packets: privet {privet / 1e6:.0f} ms (the whole command; the dataplane {dataplane / 1e6:.0f} ms, "
      f"{100 * dataplane / privet:.0f}%), tcprewrite {tcprewrite / 1e6:.0f} ms; "
      f"privet is {tcprewrite / privet:.2f}x tcprewrite's speed; {packets / privet * 1e9 / 1e6:.2f} M packets/s; "
      f"dataplane {dataplane / packets:.0f} ns a packet; a plain copy of the capture {copy / 1e6:.0f} ms, "
      f"privet {copy / privet:.2f}x its speed")
PY

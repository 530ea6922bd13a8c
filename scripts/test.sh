#!/usr/bin/env bash
# Builds Privet and runs every test. Installs what the tests need when it is missing:
#   libpcap-dev   the capture library PacketIO wraps
#   tshark        the dissector the wire layer is cross-checked against (brings editcap)
#   iproute2      `ip netns`, for the live tests (run as root)
#   curl, dnsutils (dig), iperf3
#                 the real programs the live tests run through Privet
#   python3       Debian's /usr/bin/python3: the tests' raw-socket senders and CSV reader
#   nftables      `nft`, for a flooding client's own firewall in the live SYN-flood test
#   haproxy       a target that speaks Proxy Protocol v2 (`accept-proxy`)
#   prometheus    `promtool check metrics`, for what `privet up --metrics` serves
#   python3-venv  a virtual environment (.build/aws-venv) for the AWS CLI and boto3 from PyPI,
#                 the real clients of what `privet up --api` serves
# With CI=true, a test that skips fails the run: skips are for a developer without root, and a
# bare CI machine must not go green by running nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh

ensure_packages libpcap-dev tshark iproute2 curl dnsutils iperf3 python3 python3-venv nftables haproxy prometheus
if [ ! -x .build/aws-venv/bin/aws ] || ! .build/aws-venv/bin/python -c "import boto3" 2>/dev/null; then
    /usr/bin/python3 -m venv .build/aws-venv
    .build/aws-venv/bin/pip install --quiet --disable-pip-version-check awscli boto3
fi

swift build
if [ "${CI:-}" != true ]; then
    exec swift test "$@"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test "$@" 2>&1 | tee "$log" || status=$?
if grep -E "(Test|Suite) .* skipped" "$log" >&2; then
    echo "CI: the tests above skipped; under CI every test must run" >&2
    exit 1
fi
exit "$status"

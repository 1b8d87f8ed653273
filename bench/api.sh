#!/usr/bin/env bash
# `berth serve`: idle memory and /_ping latency.
#
# usage: bench/api.sh [-n REQUESTS] [--berth PATH]
#
#   -n N          /_ping requests, one keep-alive connection (default 2000)
#   --berth PATH  berth binary (default: $BERTH_BIN, else target/release/berth,
#                 else target/debug/berth)
#
# Goals (issue 6): idle RSS under 10 MiB, /_ping under 1 ms. RSS is read from
# /proc/PID/status after startup, and again after the pings and a few
# heavier requests (lists, inspect, version), once the server is idle again.
# Latency is measured by a small Python client on the unix socket: request
# written to response fully read, per request; median and 99th percentile.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

requests=2000
berth=${BERTH_BIN:-}
while [ $# -gt 0 ]; do
    case "$1" in
        -n) requests=${2:?-n needs a number}; shift 2 ;;
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
if [ -z "$berth" ]; then
    for candidate in "$repo_dir/target/release/berth" "$repo_dir/target/debug/berth"; do
        [ -x "$candidate" ] && { berth=$candidate; break; }
    done
fi
[ -x "$berth" ] || die "no berth binary (cargo build --release -p berth)"

work=$(mktemp -d /var/tmp/berth-api-bench.XXXXXX)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$berth" --root "$work/root" serve -H "unix://$work/api.sock" 2>/dev/null &
server=$!
for _ in $(seq 200); do [ -S "$work/api.sock" ] && break; sleep 0.02; done
[ -S "$work/api.sock" ] || die "berth serve did not start"
# The server gives memory back after a second without requests.
sleep 2
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
rss_start=$(rss)

python3 - "$work/api.sock" "$requests" <<'PY'
import socket, statistics, sys, time
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(path)
req = b"GET /_ping HTTP/1.1\r\nHost: berth\r\n\r\n"
def one():
    s.sendall(req)
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"OK")):
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("connection closed")
        data += chunk
for _ in range(100):
    one()
times = []
for _ in range(n):
    t = time.perf_counter()
    one()
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
print(f"/_ping over {n} requests: median {statistics.median(times):.0f} us, "
      f"p99 {times[int(len(times) * 0.99) - 1]:.0f} us, max {times[-1]:.0f} us")
for p in ["/version", "/info", "/containers/json?all=1", "/images/json", "/volumes"]:
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    c.sendall(f"GET {p} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n".encode())
    while c.recv(65536):
        pass
    c.close()
PY
sleep 2
rss_idle=$(rss)
echo "idle RSS: $((rss_start)) KiB after start, $((rss_idle)) KiB after the requests (goal < 10240 KiB)"
echo "binary: $berth"

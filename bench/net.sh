#!/usr/bin/env bash
# Times berth's bridge networking: two berth binaries (say, before and
# after a change) side by side at the same load, run by run in turn, each
# with a root, a run directory and a default bridge of its own, so neither
# keeps the other's bridge alive.
#
# usage: bench/net.sh [-n N] BERTH_A [BERTH_B]
#
# Rows (median wall ms of N runs, after one warm-up):
#   none     run --rm --network none busybox true
#   bridge   run --rm busybox true, the only container on the default bridge
#   user     run --rm --network NET busybox true, the only one on NET
#   create   network create NET + network rm NET
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C

runs=10
if [ "${1:-}" = "-n" ]; then
    runs=${2:?-n needs a number}
    shift 2
fi
[ $# -ge 1 ] || die "usage: bench/net.sh [-n N] BERTH_A [BERTH_B]"
require_root
binaries=("$@")
tar=${BERTH_BUSYBOX_TAR:-$repo_dir/target/busybox.tar}
[ -f "$tar" ] || die "no busybox rootfs tar at $tar (set BERTH_BUSYBOX_TAR)"
work=$(mktemp -d /tmp/berth-net-bench.XXXXXX)

# Engine i: root, run dir and default bridge berth-nbI on 10.240+I.0.0/16.
b() {
    local i=$1
    shift
    BERTH_DAEMON_CONFIG="$work/$i/daemon.json" "${binaries[$i]}" \
        --root "$work/$i/root" --run-dir "/run/berth-net-bench-$i" "$@"
}

cleanup() {
    for i in "${!binaries[@]}"; do
        b "$i" rm -f $(b "$i" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
        b "$i" network prune -f >/dev/null 2>&1 || true
        for port in /sys/class/net/berth-nb$i/brif/*; do # berth's keeper
            [ -e "$port" ] && ip link del "${port##*/}"
        done
        ip link del "berth-nb$i" 2>/dev/null || true
        umount -R "/run/berth-net-bench-$i" 2>/dev/null || true
        rm -rf "/run/berth-net-bench-$i"
    done
    rm -rf "$work"
}
trap cleanup EXIT

for i in "${!binaries[@]}"; do
    mkdir -p "$work/$i" "/run/berth-net-bench-$i"
    echo "{\"bridge\": \"berth-nb$i\", \"bip\": \"10.$((240 + i)).0.1/16\"}" >"$work/$i/daemon.json"
    b "$i" import "$tar" busybox:latest >/dev/null
done

# time_ms CMD...: runs it, prints its wall time in ms.
time_ms() {
    local start=$EPOCHREALTIME
    "$@" >/dev/null
    local end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}

op_none() { b "$1" run --rm --network none busybox true; }
op_bridge() { b "$1" run --rm busybox true; }
op_user() { b "$1" run --rm --network "bench-net-$1" busybox true; }
op_create() { b "$1" network create "bench-tmp-$1" && b "$1" network rm "bench-tmp-$1"; }

for i in "${!binaries[@]}"; do
    b "$i" network create "bench-net-$i" >/dev/null
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for op in none bridge user create; do
    for i in "${!binaries[@]}"; do
        "op_$op" "$i" >/dev/null # warm-up
        : >"$work/$op.$i"
    done
    for _ in $(seq "$runs"); do
        for i in "${!binaries[@]}"; do
            time_ms "op_$op" "$i" >>"$work/$op.$i"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| row (median ms, N=%s) |' "$runs"
for i in "${!binaries[@]}"; do printf ' %s |' "${binaries[$i]}"; done
echo
for op in none bridge user create; do
    printf '| %s |' "$op"
    for i in "${!binaries[@]}"; do
        printf ' %s |' "$(sort -n "$work/$op.$i" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
    done
    echo
done

#!/usr/bin/env bash
# Times berth's run path: two berth binaries (say, before and after a
# change) run by run in turn at the same load, each with a root and a run
# directory of its own. Each run is timed twice over: its wall time as a
# user sees it, and the CPU time of every process it made (`perf stat`'s
# task-clock follows forks, so the detached monitor and the runtime count).
#
# usage: bench/runpath.sh [-n N] BERTH_A [BERTH_B]
#
# Rows (median of N runs, after one warm-up; wall ms / CPU ms):
#   none     run --rm --network none busybox true
#   exec     exec c true, in a running container (--network none)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C

runs=10
if [ "${1:-}" = "-n" ]; then
    runs=${2:?-n needs a number}
    shift 2
fi
[ $# -ge 1 ] || die "usage: bench/runpath.sh [-n N] BERTH_A [BERTH_B]"
require_root
command -v perf >/dev/null || die "perf not installed (linux-perf)"
binaries=("$@")
tar=${BERTH_BUSYBOX_TAR:-$repo_dir/target/busybox.tar}
[ -f "$tar" ] || die "no busybox rootfs tar at $tar (set BERTH_BUSYBOX_TAR)"
work=$(mktemp -d /tmp/berth-runpath-bench.XXXXXX)

b() {
    local i=$1
    shift
    "${binaries[$i]}" --root "$work/$i/root" --run-dir "/run/berth-runpath-bench-$i" "$@"
}

cleanup() {
    for i in "${!binaries[@]}"; do
        b "$i" rm -f $(b "$i" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
        umount -R "/run/berth-runpath-bench-$i" 2>/dev/null || true
        rm -rf "/run/berth-runpath-bench-$i"
    done
    rm -rf "$work"
}
trap cleanup EXIT

for i in "${!binaries[@]}"; do
    mkdir -p "$work/$i" "/run/berth-runpath-bench-$i"
    b "$i" import "$tar" busybox:latest >/dev/null
    b "$i" run -d --network none --name bench-c busybox sleep 3600 >/dev/null
done

op_none() { b "$1" run --rm --network none busybox true; }
op_exec() { b "$1" exec bench-c true; }

# measure OP I: appends "wall_ms cpu_ms" of one run to $work/OP.I (perf's
# elapsed time of the command and the task-clock of it and its descendants).
measure() {
    local op=$1 i=$2 args
    case $op in
        none) args=(run --rm --network none busybox true) ;;
        exec) args=(exec bench-c true) ;;
    esac
    perf stat -e task-clock -o "$work/perf" -- "${binaries[$i]}" --root "$work/$i/root" \
        --run-dir "/run/berth-runpath-bench-$i" "${args[@]}" >/dev/null
    awk '/task-clock/ { gsub(",", "", $1); c = $1 } /seconds time elapsed/ { w = $1 * 1000 }
        END { printf "%.1f %.1f\n", w, c }' "$work/perf" >>"$work/$op.$i"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for op in none exec; do
    for i in "${!binaries[@]}"; do
        "op_$op" "$i" >/dev/null # warm-up
        : >"$work/$op.$i"
    done
    for _ in $(seq "$runs"); do
        for i in "${!binaries[@]}"; do
            measure "$op" "$i"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| row (median, N=%s): wall ms / CPU ms |' "$runs"
for i in "${!binaries[@]}"; do printf ' %s |' "${binaries[$i]}"; done
echo
for op in none exec; do
    printf '| %s |' "$op"
    for i in "${!binaries[@]}"; do
        printf ' %s / %s |' "$(cut -d' ' -f1 "$work/$op.$i" | median)" "$(cut -d' ' -f2 "$work/$op.$i" | median)"
    done
    echo
done

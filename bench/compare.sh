#!/usr/bin/env bash
# Times berth against docker (Debian's docker.io) and podman on the very same
# busybox image tar, and writes a Markdown table of medians.
#
# usage: bench/compare.sh [-n N] [--out FILE] [--berth PATH]
#
#   -n N          timed runs per operation and engine (default 20), after one
#                 untimed warm-up; the engines take turns, run by run
#   --out FILE    where the table goes (default bench/RESULTS.md)
#   --berth PATH  berth binary (default: $BERTH_BIN, else a fresh release build)
#
# berth keeps its state in its own root, /var/lib/berth-bench. An operation an
# engine cannot do shows "n/a (reason)" and the run goes on. Each operation is
# timed with bash's $EPOCHREALTIME around it (no process is forked for the clock),
# so a time is the whole CLI invocation, as a user sees it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C # $EPOCHREALTIME uses the locale's decimal point

runs=20
out_file="$repo_dir/bench/RESULTS.md"
berth=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        --out) out_file=${2:?--out needs a file}; shift 2 ;;
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, not '$runs'"
require_root

note() { echo "bench: $*" >&2; }

"$repo_dir/scripts/install-deps.sh" --with-bench
"$repo_dir/scripts/start-dockerd.sh"

engines=(berth docker podman)
berth_root=/var/lib/berth-bench
ps_containers=500
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
samples="$work/samples" # lines: OP ENGINE MICROSECONDS
cells="$work/na"        # lines: OP ENGINE REASON (the n/a cells)
: >"$samples"
: >"$cells"

declare -A unavailable # ENGINE -> why it takes no part at all
declare -A failed      # "OP ENGINE" -> set once that cell is n/a

# E ENGINE ARGS...: one engine command.
E() {
    local engine=$1
    shift
    case "$engine" in
        berth) "$berth" --root "$berth_root" "$@" ;;
        docker) docker "$@" ;;
        podman) podman "$@" ;;
    esac
}
# R ENGINE run|create ARGS...: like E, plus the flags run/create need here.
podman_flags=()
R() {
    local engine=$1 verb=$2
    shift 2
    if [ "$engine" = podman ]; then
        E podman "$verb" "${podman_flags[@]}" "$@"
    else
        E "$engine" "$verb" "$@"
    fi
}

first_line() { grep -m1 . "$1" | cut -c1-90 | tr '|' '/' || true; }

remove_by_name() { # ENGINE NAME...: remove containers, 100 names per call
    local engine=$1
    shift
    local names=("$@") i
    for ((i = 0; i < ${#names[@]}; i += 100)); do
        E "$engine" rm -f "${names[@]:i:100}" >/dev/null 2>&1 || true
    done
}
remove_leftovers() { # ENGINE: every bench-* container and volume
    local engine=$1 names=()
    mapfile -t names < <(E "$engine" ps -a --format '{{.Names}}' 2>/dev/null | grep '^bench-' || true)
    [ "${#names[@]}" -eq 0 ] || remove_by_name "$engine" "${names[@]}"
    mapfile -t names < <(E "$engine" volume ls -q 2>/dev/null | grep '^bench-' || true)
    [ "${#names[@]}" -eq 0 ] || E "$engine" volume rm -f "${names[@]}" >/dev/null 2>&1 || true
}
cleanup() {
    for engine in "${engines[@]}"; do
        [ -n "${unavailable[$engine]:-}" ] || remove_leftovers "$engine"
    done
    rm -rf "$work"
}
trap cleanup EXIT

# --- the image, in all three engines --------------------------------------------
if [ -z "$berth" ]; then
    if [ -n "${BERTH_BIN:-}" ]; then
        berth=$BERTH_BIN
    else
        berth="$repo_dir/target/release/berth"
        cargo_on_path
        (cd "$repo_dir" && cargo build --release -p berth --quiet) >"$work/build.log" 2>&1 \
            || unavailable[berth]="release build failed: $(grep -m1 '^error' "$work/build.log" | cut -c1-70 | tr '|' '/')"
    fi
fi
tar_file="$work/busybox.tar"
"$repo_dir/scripts/make-busybox-image.sh" --no-import --docker --out "$tar_file" 2>"$work/err" \
    || unavailable[docker]="docker import failed: $(first_line "$work/err")"
if [ -z "${unavailable[berth]:-}" ]; then
    E berth import -c 'CMD ["sh"]' "$tar_file" busybox:latest >/dev/null 2>"$work/err" \
        || unavailable[berth]="import failed: $(first_line "$work/err")"
fi
old_podman_image=$(podman image inspect --format '{{.Id}}' busybox:latest 2>/dev/null || true)
if podman import -q -c 'CMD ["sh"]' "$tar_file" busybox:latest >/dev/null 2>"$work/err"; then
    [ -z "$old_podman_image" ] || podman rmi "$old_podman_image" >/dev/null 2>&1 || true
else
    unavailable[podman]="import failed: $(first_line "$work/err")"
fi

# Rootful podman here (cgroup v1, no CAP_SYS_RESOURCE) cannot raise its default
# rlimits: runc fails "error setting rlimits". Pin them, and use runc.
if [ -z "${unavailable[podman]:-}" ] && ! R podman run --rm --network none busybox true >/dev/null 2>&1; then
    podman_flags=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
fi

for engine in "${engines[@]}"; do
    [ -n "${unavailable[$engine]:-}" ] || remove_leftovers "$engine"
done

# --- operations: op_NAME ENGINE RUN_INDEX ---------------------------------------
op_run_none() { R "$1" run --rm --network none busybox true; }
op_run_bridge() { R "$1" run --rm busybox true; }
# The container runs until removed and exits at once on SIGTERM: `docker rm -f`
# sends SIGKILL, but `podman rm -f` sends SIGTERM and waits 10s for the exit.
op_lifecycle() {
    R "$1" create --name "bench-life-$2" busybox sh -c 'trap "exit 0" TERM; sleep 60 & wait' \
        && E "$1" start "bench-life-$2" && E "$1" rm -f "bench-life-$2"
}
op_volume() { E "$1" volume create "bench-vol-$2" && E "$1" volume rm "bench-vol-$2"; }
op_run_volume() { R "$1" run --rm -v bench-data:/data busybox sh -c 'echo x > /data/f'; }
op_ps() { E "$1" ps -a; }

# Set-up an operation needs first, untimed; a failure makes the cell n/a.
setup_run_volume() { E "$1" volume create bench-data; }
setup_ps() {
    local k
    for ((k = 1; k <= ps_containers; k++)); do
        R "$1" create --name "bench-ps-$k" busybox true || return 1
    done
}
# Teardowns remove by name what a failed run may have left (berth may not know
# `ps --format`, which the final sweep relies on).
teardown_lifecycle() {
    local k names=()
    for ((k = 0; k <= runs; k++)); do names+=("bench-life-$k"); done
    remove_by_name "$1" "${names[@]}"
}
teardown_volume() {
    local k
    for ((k = 0; k <= runs; k++)); do E "$1" volume rm -f "bench-vol-$k" >/dev/null 2>&1 || true; done
}
teardown_run_volume() { E "$1" volume rm -f bench-data >/dev/null 2>&1 || true; }
teardown_ps() {
    local k names=()
    for ((k = 1; k <= ps_containers; k++)); do names+=("bench-ps-$k"); done
    remove_by_name "$1" "${names[@]}"
}

# measure OP ENGINE RUN: time one run; run 0 is the warm-up and is not kept.
measure() {
    local op=$1 engine=$2 run=$3 t0 t1
    [ -z "${failed["$op $engine"]:-}" ] || return 0
    t0=$EPOCHREALTIME
    if "op_$op" "$engine" "$run" >/dev/null 2>"$work/err"; then
        t1=$EPOCHREALTIME
        [ "$run" -eq 0 ] || echo "$op $engine $((${t1/./} - ${t0/./}))" >>"$samples"
    else
        mark_na "$op" "$engine" "$(first_line "$work/err")"
    fi
}
mark_na() {
    failed["$1 $2"]=1
    echo "$1 $2 ${3:-failed}" >>"$cells"
}

bench() { # OP
    local op=$1 engine run
    note "$op"
    for engine in "${engines[@]}"; do
        if [ -n "${unavailable[$engine]:-}" ]; then
            mark_na "$op" "$engine" "${unavailable[$engine]}"
        elif declare -F "setup_$op" >/dev/null && ! "setup_$op" "$engine" >/dev/null 2>"$work/err"; then
            mark_na "$op" "$engine" "set-up: $(first_line "$work/err")"
        fi
    done
    for ((run = 0; run <= runs; run++)); do
        for engine in "${engines[@]}"; do measure "$op" "$engine" "$run"; done
    done
    if declare -F "teardown_$op" >/dev/null; then
        for engine in "${engines[@]}"; do
            [ -n "${unavailable[$engine]:-}" ] || "teardown_$op" "$engine"
        done
    fi
}

ops=(run_none run_bridge lifecycle volume run_volume ps)
for op in "${ops[@]}"; do bench "$op"; done

# --- the table --------------------------------------------------------------------
versions="berth $("$berth" --version 2>/dev/null | head -n1 | awk '{print $NF}' || true)"
versions+=", docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
versions+=", podman $(podman version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)

mkdir -p "$(dirname "$out_file")"
python3 - "$samples" "$cells" "$runs" "$ps_containers" >"$work/table.md" <<'PY'
import statistics, sys
from collections import defaultdict

samples_file, cells_file, runs, ps_count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
engines = ["berth", "docker", "podman"]
labels = [
    ("run_none", "`run --rm --network none busybox true`"),
    ("run_bridge", "`run --rm busybox true` (default bridge)"),
    ("lifecycle", "`create` + `start` + `rm -f` (a running container)"),
    ("volume", "`volume create` + `volume rm`"),
    ("run_volume", "`run --rm -v vol:/data busybox sh -c 'echo x > /data/f'`"),
    ("ps", f"`ps -a` with {ps_count} containers"),
]
times = defaultdict(list)
for line in open(samples_file):
    op, engine, usec = line.split()
    times[op, engine].append(int(usec) / 1000)
na = {}
for line in open(cells_file):
    op, engine, reason = line.rstrip("\n").split(" ", 2)
    na[op, engine] = reason

def median(op, engine):
    return None if (op, engine) in na or not times[op, engine] else statistics.median(times[op, engine])

def cell(op, engine):
    m = median(op, engine)
    return f"n/a ({na.get((op, engine), 'no runs')})" if m is None else f"{m:.1f}"

def ratio(op, a, b):
    ma, mb = median(op, a), median(op, b)
    return "n/a" if ma is None or mb is None else f"{ma / mb:.2f}x"

print("| operation | berth | docker | podman | berth/docker | berth/podman |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for op, label in labels:
    row = [label] + [cell(op, e) for e in engines] + [ratio(op, "berth", "docker"), ratio(op, "berth", "podman")]
    print("| " + " | ".join(row) + " |")
PY

{
    echo "# berth vs docker vs podman"
    echo
    echo "Median wall time in milliseconds of $runs runs per cell (after one warm-up run), the engines"
    echo "taking turns run by run; each time is the whole CLI command, as a user sees it. Same busybox"
    echo "image tar imported into each engine. Made by \`bench/compare.sh -n $runs\`."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($cpu_model), kernel $(uname -r)"
    echo "- engines: $versions"
    echo "- podman run/create flags: ${podman_flags[*]:-none}"
    echo
    cat "$work/table.md"
} >"$out_file"
cat "$out_file"

#!/usr/bin/env bash
# Layer unpack speed: berth's unpack_layer against GNU `tar -x` on the same
# ~100 MiB layer tar made of many small files from /usr.
#
# usage: bench/unpack.sh [-n RUNS] [--size MIB]
#
#   -n RUNS     timed runs per tool (default 5); the median is reported
#   --size MIB  approximate layer size (default 100)
#
# Both tools extract into a fresh directory on the same filesystem
# (/var/tmp) as root, so tar also restores ownership and modes. berth's run
# additionally computes the layer's sha256 diff_id. Prints both medians and
# the speed ratio tar_time / berth_time (>= 0.8 is the goal).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C # $EPOCHREALTIME uses the locale's decimal point

runs=5
size_mib=100
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        --size) size_mib=${2:?--size needs a number}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
require_root
cargo_on_path

work=$(mktemp -d /var/tmp/berth-unpack-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "building the unpack example (release)..." >&2
(cd "$repo_dir" && cargo build --quiet --release -p berth-archive --example unpack)
unpack="$repo_dir/target/release/examples/unpack"

# The layer: directories, files and symlinks of /usr in find order, cut off at
# the requested size (files over 4 MiB skipped so the tar has many entries).
limit=$((size_mib * 1024 * 1024))
find /usr/share /usr/lib -xdev \( -type d -o -type l -o \( -type f -size -4M \) \) -printf '%s %p\n' 2>/dev/null \
    | awk -v limit="$limit" '{ total += $1; if (total > limit) exit; sub(/^[0-9]+ \//, ""); print }' \
    >"$work/list" || true # awk stops reading early: find gets SIGPIPE
[ -s "$work/list" ] || die "no files found under /usr"
tar -C / --no-recursion -cf "$work/layer.tar" -T "$work/list"
entries=$(wc -l <"$work/list")
bytes=$(stat -c %s "$work/layer.tar")
echo "layer: $((bytes / 1024 / 1024)) MiB, $entries entries" >&2

time_one() { # time_one CMD... -> seconds on stdout; dest is wiped before and after
    rm -rf "$work/dest" && mkdir "$work/dest" && sync
    local start=$EPOCHREALTIME
    "$@" >/dev/null
    local end=$EPOCHREALTIME
    rm -rf "$work/dest"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One untimed warm-up each (page cache holds the tar for both).
time_one tar -xf "$work/layer.tar" -C "$work/dest" >/dev/null
time_one "$unpack" "$work/layer.tar" "$work/dest" >/dev/null

: >"$work/tar.times"
: >"$work/berth.times"
for _ in $(seq "$runs"); do
    time_one tar -xf "$work/layer.tar" -C "$work/dest" >>"$work/tar.times"
    time_one "$unpack" "$work/layer.tar" "$work/dest" >>"$work/berth.times"
done
tar_median=$(median <"$work/tar.times")
berth_median=$(median <"$work/berth.times")
printf 'tar -x        median of %d: %.3f s\n' "$runs" "$tar_median"
printf 'berth unpack  median of %d: %.3f s\n' "$runs" "$berth_median"
awk -v t="$tar_median" -v b="$berth_median" 'BEGIN { printf "speed ratio (tar time / berth time): %.2fx\n", t / b }'

# The same layer as an image: `berth load` into a fresh root vs `docker load`.
(cd "$repo_dir" && cargo build --quiet --release -p berth)
berth="$repo_dir/target/release/berth"
"$berth" --root "$work/src" import "$work/layer.tar" unpackbench:latest >/dev/null
"$berth" --root "$work/src" save -o "$work/image.tar" unpackbench:latest
rm -rf "$work/src"
: >"$work/load.times"
for _ in $(seq "$runs"); do
    rm -rf "$work/root" && sync
    start=$EPOCHREALTIME
    "$berth" --root "$work/root" load -q -i "$work/image.tar" >/dev/null
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/load.times"
done
rm -rf "$work/root"
load_median=$(median <"$work/load.times")
printf 'berth load    median of %d: %.3f s\n' "$runs" "$load_median"
if docker info >/dev/null 2>&1; then
    : >"$work/docker.times"
    for _ in $(seq "$runs"); do
        docker rmi -f unpackbench:latest >/dev/null 2>&1 || true
        sync
        start=$EPOCHREALTIME
        docker load -q -i "$work/image.tar" >/dev/null
        awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/docker.times"
    done
    docker rmi -f unpackbench:latest >/dev/null 2>&1 || true
    docker_median=$(median <"$work/docker.times")
    printf 'docker load   median of %d: %.3f s\n' "$runs" "$docker_median"
    awk -v d="$docker_median" -v b="$load_median" 'BEGIN { printf "load ratio (berth time / docker time): %.2fx\n", b / d }'
else
    echo "docker load: n/a (dockerd not answering; scripts/start-dockerd.sh starts it)"
fi

#!/usr/bin/env bash
# Times berth against docker (Debian's docker.io) and podman on the very same
# busybox image tar, measures the disk and host memory each engine spends per
# container, and writes two Markdown tables (times, resources).
#
# usage: bench/compare.sh [-n N] [--heavy-n N] [--only ROWS] [--out FILE] [--berth PATH]
#
#   -n N          timed runs per operation and engine (default 20), after one
#                 untimed warm-up; the engines take turns, run by run
#   --heavy-n N   runs for the heavy operations: cp and load of 100 MiB,
#                 volume export and import of 5000 files, system df -v over
#                 100k files, with and without a quota (default 5, never
#                 more than -n)
#   --only ROWS   only these rows, comma-separated, from: run_none run_bridge
#                 run_publish run_network run_rootless
#                 runtime lifecycle exec volume run_volume cp load ps export
#                 import df df_quota disk memory monitor;
#                 the tables then go to stdout only, unless --out is given
#   --out FILE    where the tables go (default bench/RESULTS.md)
#   --berth PATH  berth binary (default: $BERTH_BIN, else a fresh release build)
#
# berth keeps its state in its own root, /var/lib/berth-bench. An operation an
# engine cannot do shows "n/a (reason)" and the run goes on. Each operation is
# timed with bash's $EPOCHREALTIME around it (no process is forked for the clock),
# so a time is the whole CLI invocation, as a user sees it. The resource rows
# (disk per container, memory of idle containers) are measured once per engine.
# Every row removes what it made, in every engine, and so does an interrupted run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C # $EPOCHREALTIME uses the locale's decimal point

runs=20
heavy_runs=""
only=""
out_file=""
berth=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        --heavy-n) heavy_runs=${2:?--heavy-n needs a number}; shift 2 ;;
        --only) only=${2:?--only needs a list of rows}; shift 2 ;;
        --out) out_file=${2:?--out needs a file}; shift 2 ;;
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, not '$runs'"
[ -n "$out_file" ] || [ -n "$only" ] || out_file="$repo_dir/bench/RESULTS.md"
[ -n "$heavy_runs" ] || heavy_runs=$((runs < 5 ? runs : 5))
[[ "$heavy_runs" =~ ^[1-9][0-9]*$ ]] || die "--heavy-n wants a positive number, not '$heavy_runs'"
[ "$heavy_runs" -le "$runs" ] || heavy_runs=$runs
for row in ${only//,/ }; do
    [[ " run_none run_bridge run_publish run_network run_rootless runtime lifecycle exec volume run_volume cp load ps export import df df_quota disk memory monitor " == *" $row "* ]] \
        || die "--only: no row named '$row' (see --help)"
done
require_root
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
awk '{ exit !($1 > 1.5) }' /proc/loadavg \
    && echo "bench: warning: load average $load_before; other work on the machine skews the times" >&2

note() { echo "bench: $*" >&2; }

"$repo_dir/scripts/install-deps.sh" --with-bench
"$repo_dir/scripts/start-dockerd.sh"

engines=(berth docker podman)
berth_root=/var/lib/berth-bench
ps_containers=500
heavy_ops=" cp load export import df df_quota "
blob_mib=100           # the file cp copies and the layer load unpacks
df_dirs=100            # the df volume holds df_dirs x df_files_per_dir files
df_files_per_dir=1000
tar_dirs=10            # the export/import volume holds tar_dirs x tar_files_per_dir
tar_files_per_dir=500  # files of 4 KiB
disk_containers=100    # created containers whose storage is measured
idle_containers=50     # running containers whose engine memory is measured
settle_seconds=2       # lets a fresh container's engine processes go idle
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
samples="$work/samples"     # lines: OP ENGINE MICROSECONDS
resources="$work/resources" # lines: ROW METRIC ENGINE VALUE (bytes or KiB)
cells="$work/na"            # lines: OP-or-ROW ENGINE REASON (the n/a cells)
: >"$samples"
: >"$resources"
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
    local names=("$@") i force=(-f)
    # `podman rm -f` sends SIGTERM and waits 10s before SIGKILL; docker kills at once.
    [ "$engine" != podman ] || force=(-f -t 0)
    for ((i = 0; i < ${#names[@]}; i += 100)); do
        E "$engine" rm "${force[@]}" "${names[@]:i:100}" >/dev/null 2>&1 || true
    done
}
remove_leftovers() { # ENGINE: every bench-* container, volume and image
    local engine=$1 names=()
    mapfile -t names < <(E "$engine" ps -a --format '{{.Names}}' 2>/dev/null | grep '^bench-' || true)
    [ "${#names[@]}" -eq 0 ] || remove_by_name "$engine" "${names[@]}"
    mapfile -t names < <(E "$engine" volume ls -q 2>/dev/null | grep '^bench-' || true)
    [ "${#names[@]}" -eq 0 ] || E "$engine" volume rm -f "${names[@]}" >/dev/null 2>&1 || true
    E "$engine" rmi -f bench-load:latest >/dev/null 2>&1 || true
    E "$engine" network rm bench-net >/dev/null 2>&1 || true
}
cleanup() {
    remove_rootless_user
    for engine in "${engines[@]}"; do
        [ -n "${unavailable[$engine]:-}" ] || remove_leftovers "$engine"
    done
    ! mountpoint -q "$work/btrfs" || umount "$work/btrfs" || true
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

# --- fixtures the heavy rows share, made on first use ---------------------------
blob="$work/blob"          # random bytes: nothing can compress or deduplicate them
load_tar="$work/load.tar"  # `docker save` of an image whose one layer is the blob
load_error=""
make_blob() {
    [ -s "$blob" ] || head -c "$((blob_mib << 20))" /dev/urandom >"$blob"
}
# The image is imported from a rootfs tar holding just the blob, saved, and
# removed again from docker: each engine then loads the very same archive.
make_load_tar() {
    [ -z "$load_error" ] || { echo "$load_error" >&2; return 1; }
    [ ! -s "$load_tar" ] || return 0
    if [ -n "${unavailable[docker]:-}" ]; then
        load_error="the archive is made with docker: ${unavailable[docker]}"
    elif ! { make_blob && tar -C "$work" -cf "$work/load-rootfs.tar" blob \
        && docker import "$work/load-rootfs.tar" bench-load:latest \
        && docker save -o "$load_tar" bench-load:latest \
        && docker rmi bench-load:latest; } >/dev/null 2>"$work/load-err"; then
        load_error="making the archive failed: $(first_line "$work/load-err")"
        docker rmi -f bench-load:latest >/dev/null 2>&1 || true
    fi
    rm -f "$work/load-rootfs.tar"
    [ -z "$load_error" ] || { echo "$load_error" >&2; return 1; }
}
# fill_volume DIR [DIRS FILES BYTES]: DIRS x FILES files of BYTES bytes (default:
# df_dirs x df_files_per_dir two-byte files), written straight into a volume's
# mountpoint (from the host: the same cost for every engine).
fill_volume() {
    python3 - "$1" "${2:-$df_dirs}" "${3:-$df_files_per_dir}" "${4:-2}" <<'PY'
import os
import sys

root, dirs, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = b"x" * (size - 1) + b"\n"
for d in range(dirs):
    path = os.path.join(root, f"d{d}")
    os.mkdir(path)
    for f in range(files):
        with open(os.path.join(path, f"f{f}"), "wb") as out:
            out.write(data)
PY
}

# --- operations: op_NAME ENGINE RUN_INDEX ---------------------------------------
op_run_none() { R "$1" run --rm --network none busybox true; }
op_run_bridge() { R "$1" run --rm busybox true; }
# A host port of the engine's choosing: no run waits for another's to be freed.
op_run_publish() { R "$1" run --rm -p 80 busybox true; }
setup_run_network() { E "$1" network create bench-net; }
op_run_network() { R "$1" run --rm --network bench-net busybox true; }
teardown_run_network() { E "$1" network rm bench-net; }
# Rootless: berth and podman run by an ordinary user the bench makes
# (useradd gives it subordinate ids), each with its own storage in the
# user's home, busybox imported from the same tar. podman: cgroupfs and a
# file for events (there is no systemd user session), and runc (crun
# refuses a rootless container on a hybrid cgroup host: "cgroups in hybrid
# mode not supported"; berth hides the cgroup2 mount from it instead); its
# network is its rootless default (slirp4netns in podman 4), berth's is
# pasta. Both run behind the same `setpriv ... env -i` (a few ms, in every
# cell). docker's rootless mode needs dockerd-rootless-setuptool.sh and a
# daemon per user.
rootless_user=""
rootless_home=""
make_rootless_user() {
    [ -z "$rootless_user" ] || return 0
    local name="brlbench$$" conf
    useradd -m -s /bin/sh "$name" || return 1
    rootless_user=$name
    rootless_home=$(getent passwd "$name" | cut -d: -f6)
    grep -q "^$name:" /etc/subuid && grep -q "^$name:" /etc/subgid \
        || { echo "useradd gave $name no subordinate ids" >&2; return 1; }
    install -d -o "$name" -g "$(id -g "$name")" -m 0700 "$rootless_home/run" \
        "$rootless_home/.config" "$rootless_home/.config/containers"
    conf="$rootless_home/.config/containers/containers.conf"
    printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' >"$conf"
    install -o "$name" -m 0600 "$tar_file" "$rootless_home/busybox.tar"
    chown "$name" "$conf"
}
as_rootless_user() {
    setpriv --reuid "$rootless_user" --regid "$(id -g "$rootless_user")" --init-groups \
        env -i HOME="$rootless_home" XDG_RUNTIME_DIR="$rootless_home/run" \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
# Everything the user runs (berth's namespace holder, podman's pause
# process), then the user and its home.
remove_rootless_user() {
    [ -n "$rootless_user" ] || return 0
    pkill -KILL -U "$rootless_user" 2>/dev/null || true
    sleep 0.2
    userdel -r -f "$rootless_user" >/dev/null 2>&1 || true
    rm -rf "$rootless_home"
    rootless_user=""
}
rootless_engine() { # ENGINE: its binary, for the user
    case "$1" in
        berth) echo "$berth" ;;
        podman) echo podman ;;
        *) echo "docker has no rootless mode set up here (dockerd-rootless-setuptool.sh)" >&2; return 1 ;;
    esac
}
setup_run_rootless() {
    local binary
    binary=$(rootless_engine "$1") && make_rootless_user || return 1
    as_rootless_user "$binary" import -c 'CMD ["sh"]' "$rootless_home/busybox.tar" busybox:latest
}
op_run_rootless() { as_rootless_user "$(rootless_engine "$1")" run --rm busybox true; }
teardown_run_rootless() { remove_rootless_user; }
# The container runs until removed and exits at once on SIGTERM: `docker rm -f`
# sends SIGKILL, but `podman rm -f` sends SIGTERM and waits 10s for the exit.
op_lifecycle() {
    R "$1" create --name "bench-life-$2" busybox sh -c 'trap "exit 0" TERM; sleep 60 & wait' \
        && E "$1" start "bench-life-$2" && E "$1" rm -f "bench-life-$2"
}
# The OCI runtime alone: `RUNTIME run` of a bundle (busybox's rootfs, `true`,
# the pid/net/ipc/uts/mount namespaces of `runc spec`) with the runtime each
# engine starts containers with: berth's default (crun where installed), runc
# for dockerd, podman's own. Each runs behind the same `unshare -m` shell,
# which on a hybrid cgroup host hides /sys/fs/cgroup/unified as berth does for
# crun (crun refuses the host otherwise); it adds the same few ms to all three.
runtime_binary() { # ENGINE
    case "$1" in
        berth) command -v "$("$berth" --root "$berth_root" info --format '{{.DefaultRuntime}}')" ;;
        docker) command -v runc ;;
        podman)
            if [ "${#podman_flags[@]}" -gt 0 ]; then command -v runc
            else podman info --format '{{.Host.OCIRuntime.Path}}'; fi ;;
    esac
}
setup_runtime() {
    local binary
    binary=$(runtime_binary "$1") || { echo "no runtime found for $1" >&2; return 1; }
    echo "$binary" >"$work/runtime.$1"
    [ -d "$work/bundle/rootfs" ] && return 0
    mkdir -p "$work/bundle/rootfs" "$work/runtime-state" \
        && tar -C "$work/bundle/rootfs" -xf "$tar_file" \
        && (cd "$work/bundle" && runc spec) \
        && python3 - "$work/bundle/config.json" <<'PY'
import json
import sys

path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
json.dump(spec, open(path, "w"))
PY
}
op_runtime() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    (cd "$work/bundle" && unshare -m --propagation unchanged sh -c '
        if mountpoint -q /sys/fs/cgroup/unified; then
            mount --make-private /sys/fs/cgroup && umount -l /sys/fs/cgroup/unified
        fi
        exec "$0" --root "$1" run "$2"' "$(cat "$work/runtime.$1")" "$work/runtime-state" "bench-rt-$1-$2")
}
# `exec c true` in a running container.
setup_exec() { R "$1" run -d --name bench-exec busybox sleep 3600; }
op_exec() { E "$1" exec bench-exec true; }
teardown_exec() { remove_by_name "$1" bench-exec; }
op_volume() { E "$1" volume create "bench-vol-$2" && E "$1" volume rm "bench-vol-$2"; }
op_run_volume() { R "$1" run --rm -v bench-data:/data busybox sh -c 'echo x > /data/f'; }
op_ps() { E "$1" ps -a; }
op_cp() { E "$1" cp "$blob" bench-cp:/tmp/blob; }
op_load() { E "$1" load -i "$load_tar"; }
op_df() { E "$1" system df -v; }
# The same volume sized (`--opt size=`): berth reads its qgroup's accounting,
# on a berth root of its own on a btrfs filesystem (a sparse image on a loop
# device). docker and podman size volumes only on XFS with project quotas.
btrfs_root="$work/btrfs/root"
op_df_quota() { "$berth" --root "$btrfs_root" system df -v; }
# `volume export` / `volume import` of a volume of tar_dirs x tar_files_per_dir
# files of 4 KiB. Docker has no such commands (docker/cli#1436); berth is
# timed against podman's. Both import the same tar (GNU tar of the files) into
# an empty volume made before the timed run.
op_export() { E "$1" volume export bench-exp -o "$work/export-$1.tar"; }
op_import() { E "$1" volume import bench-imp "$work/import.tar"; }
# after_OP ENGINE RUN: untimed, after each successful run; a failure makes the cell n/a.
after_load() { E "$1" rmi bench-load:latest; }
after_import() { E "$1" volume rm -f bench-imp && E "$1" volume create bench-imp; }

# Set-up an operation needs first, untimed; a failure makes the cell n/a.
no_volume_tar() { # ENGINE: whether it lacks volume export/import (says so on stderr)
    [ "$1" = docker ] || return 1
    echo "docker has no volume export/import" >&2
}
setup_export() {
    ! no_volume_tar "$1" || return 1
    E "$1" volume create bench-exp || return 1
    fill_volume "$(E "$1" volume inspect --format '{{.Mountpoint}}' bench-exp)" \
        "$tar_dirs" "$tar_files_per_dir" 4096
}
setup_import() {
    ! no_volume_tar "$1" || return 1
    if [ ! -s "$work/import.tar" ]; then
        mkdir "$work/import" && fill_volume "$work/import" "$tar_dirs" "$tar_files_per_dir" 4096 \
            && tar -C "$work/import" -cf "$work/import.tar" . && rm -rf "$work/import" || return 1
    fi
    E "$1" volume create bench-imp
}
setup_run_volume() { E "$1" volume create bench-data; }
setup_cp() { make_blob && R "$1" run -d --name bench-cp busybox sleep 3600; }
setup_load() {
    make_load_tar || return 1
    E "$1" rmi bench-load:latest >/dev/null 2>&1 || true
}
setup_df() {
    local mountpoint
    if [ "$1" = berth ] && ! E berth system df --help >/dev/null 2>"$work/df-help"; then
        echo "berth system df --help failed: $(first_line "$work/df-help")" >&2
        return 1
    fi
    E "$1" volume create bench-df || return 1
    mountpoint=$(E "$1" volume inspect --format '{{.Mountpoint}}' bench-df) || return 1
    fill_volume "$mountpoint"
}
setup_df_quota() {
    [ "$1" = berth ] || { echo "--opt size needs a root on XFS with project quotas" >&2; return 1; }
    command -v mkfs.btrfs >/dev/null || { echo "btrfs-progs is not installed" >&2; return 1; }
    mkdir -p "$work/btrfs" && truncate -s 2G "$work/btrfs.img" && mkfs.btrfs -q "$work/btrfs.img" \
        && mount -o loop "$work/btrfs.img" "$work/btrfs" || return 1
    "$berth" --root "$btrfs_root" volume create --opt size=1G bench-df || return 1
    fill_volume "$("$berth" --root "$btrfs_root" volume inspect --format '{{.Mountpoint}}' bench-df)"
}
setup_ps() {
    local k
    for ((k = 1; k <= ps_containers; k++)); do
        R "$1" create --name "bench-ps-$k" busybox true || return 1
    done
}
# Teardowns remove by name what a failed run may have left (berth may not know
# `ps --format`, which the final sweep relies on). op_runs is the current op's N.
teardown_lifecycle() {
    local k names=()
    for ((k = 0; k <= op_runs; k++)); do names+=("bench-life-$k"); done
    remove_by_name "$1" "${names[@]}"
}
teardown_volume() {
    local k
    for ((k = 0; k <= op_runs; k++)); do E "$1" volume rm -f "bench-vol-$k" >/dev/null 2>&1 || true; done
}
teardown_cp() { remove_by_name "$1" bench-cp; }
teardown_load() { E "$1" rmi -f bench-load:latest >/dev/null 2>&1 || true; }
teardown_df() { E "$1" volume rm -f bench-df >/dev/null 2>&1 || true; }
teardown_export() {
    E "$1" volume rm -f bench-exp >/dev/null 2>&1 || true
    rm -f "$work/export-$1.tar"
}
teardown_import() { E "$1" volume rm -f bench-imp >/dev/null 2>&1 || true; }
teardown_df_quota() {
    [ "$1" = berth ] && mountpoint -q "$work/btrfs" || return 0
    "$berth" --root "$btrfs_root" volume rm -f bench-df >/dev/null 2>&1 || true
    umount "$work/btrfs" || true
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
        if declare -F "after_$op" >/dev/null && ! "after_$op" "$engine" "$run" >/dev/null 2>"$work/err"; then
            mark_na "$op" "$engine" "after a run: $(first_line "$work/err")"
        fi
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
    op_runs=$runs
    [[ "$heavy_ops" != *" $op "* ]] || op_runs=$heavy_runs
    note "$op (N=$op_runs)"
    for engine in "${engines[@]}"; do
        if [ -n "${unavailable[$engine]:-}" ]; then
            mark_na "$op" "$engine" "${unavailable[$engine]}"
        elif declare -F "setup_$op" >/dev/null && ! "setup_$op" "$engine" >/dev/null 2>"$work/err"; then
            mark_na "$op" "$engine" "set-up: $(first_line "$work/err")"
        fi
    done
    for ((run = 0; run <= op_runs; run++)); do
        for engine in "${engines[@]}"; do measure "$op" "$engine" "$run"; done
    done
    if declare -F "teardown_$op" >/dev/null; then
        for engine in "${engines[@]}"; do
            [ -n "${unavailable[$engine]:-}" ] || "teardown_$op" "$engine"
        done
    fi
}

# wanted ROW: whether --only (if given) names ROW
wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

ops=(run_none run_bridge run_publish run_network run_rootless runtime lifecycle exec volume run_volume cp load ps export import df df_quota)
for op in "${ops[@]}"; do
    if wanted "$op"; then bench "$op"; fi
done

# --- resources, measured once per engine ------------------------------------------
# A row's measure_ROW ENGINE appends "ROW METRIC ENGINE VALUE" lines to
# $resources, returning non-zero with the reason on stderr when it cannot;
# cleanup_ROW ENGINE then removes what it made, whatever happened.

# storage_dir ENGINE: where the engine keeps images, containers and volumes on disk
# (podman's and docker's run-time state under /run is tmpfs: memory, not disk).
storage_dir() {
    case "$1" in
        berth) echo "$berth_root" ;;
        docker) docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker ;;
        podman) echo /var/lib/containers ;;
    esac
}
disk_bytes() { # ENGINE: bytes allocated under its storage dir, on its filesystem
    local dir
    dir=$(storage_dir "$1")
    sync -f "$dir" && du -sx --block-size=1 "$dir" | cut -f1
}
measure_disk() {
    local engine=$1 k before after
    before=$(disk_bytes "$engine") || return 1
    for ((k = 1; k <= disk_containers; k++)); do
        R "$engine" create --name "bench-disk-$k" busybox true >/dev/null || return 1
    done
    after=$(disk_bytes "$engine") || return 1
    echo "disk per_container $engine $(((after - before) / disk_containers))" >>"$resources"
}
cleanup_disk() {
    local k names=()
    for ((k = 1; k <= disk_containers; k++)); do names+=("bench-disk-$k"); done
    remove_by_name "$1" "${names[@]}"
}

# engine_memory ENGINE IDS_FILE DAEMONS: prints "RSS_KIB PSS_KIB PROCESSES" summed
# over the engine's per-container processes for the container ids in IDS_FILE
# (berth's monitors, docker's containerd-shims, podman's conmons), plus its
# daemons (dockerd and containerd) when DAEMONS is "yes". PSS, from
# smaps_rollup, splits each shared page among the processes that map it.
engine_memory() {
    python3 - "$@" <<'PY'
import os
import sys

engine, ids_file, with_daemons = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
ids = open(ids_file).read().split()
daemons = {"docker": ("dockerd", "containerd")}.get(engine, ()) if with_daemons else ()


def per_container(pid, comm, argv):
    if engine == "berth":
        # A monitor's argv is `berth --root R __monitor`; its container's id
        # is in its environment.
        if "__monitor" not in argv:
            return False
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().decode(errors="replace").split("\0")
        return any(e == f"BERTH_MONITOR_ID={i}" for e in env for i in ids)
    if not any(i in arg for arg in argv for i in ids):
        return False
    if engine == "docker":
        return comm.startswith("containerd-shim")
    return comm == "conmon"


rss = pss = count = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
        if comm not in daemons and not per_container(pid, comm, argv):
            continue
        with open(f"/proc/{pid}/smaps_rollup") as f:
            kib = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("Rss", "Pss")}
    except (OSError, ValueError):
        continue  # the process ended while being read
    rss, pss, count = rss + kib["Rss"], pss + kib["Pss"], count + 1
print(rss, pss, count)
PY
}
# start_idle ENGINE NAME_PREFIX COUNT IDS_FILE: COUNT idle running containers.
start_idle() {
    local engine=$1 prefix=$2 count=$3 ids=$4 k id
    : >"$ids"
    for ((k = 1; k <= count; k++)); do
        id=$(R "$engine" run -d --name "$prefix-$k" busybox sleep 3600) || return 1
        echo "$id" >>"$ids"
    done
    sleep "$settle_seconds"
}
# memory_of ENGINE IDS_FILE COUNT DAEMONS: engine_memory, checking that each of
# the COUNT containers was matched to its own process.
memory_of() {
    local rss pss found
    read -r rss pss found < <(engine_memory "$1" "$2" no) || return 1
    [ "$found" -eq "$3" ] || { echo "found $found per-container processes for $3 containers" >&2; return 1; }
    [ "$4" = yes ] || { echo "$rss $pss"; return 0; }
    read -r rss pss _ < <(engine_memory "$1" "$2" yes) || return 1
    echo "$rss $pss"
}
measure_memory() {
    local engine=$1 ids="$work/ids" base_rss base_pss rss pss
    : >"$ids"
    read -r base_rss base_pss _ < <(engine_memory "$engine" "$ids" yes) || return 1
    start_idle "$engine" bench-idle "$idle_containers" "$ids" || return 1
    read -r rss pss < <(memory_of "$engine" "$ids" "$idle_containers" yes) || return 1
    {
        echo "memory rss $engine $((rss - base_rss))"
        echo "memory pss $engine $((pss - base_pss))"
        echo "memory base_rss $engine $base_rss"
    } >>"$resources"
}
cleanup_memory() {
    local k names=()
    for ((k = 1; k <= idle_containers; k++)); do names+=("bench-idle-$k"); done
    remove_by_name "$1" "${names[@]}"
}
measure_monitor() {
    local engine=$1 ids="$work/ids" rss pss
    start_idle "$engine" bench-one 1 "$ids" || return 1
    read -r rss pss < <(memory_of "$engine" "$ids" 1 no) || return 1
    {
        echo "monitor rss $engine $rss"
        echo "monitor pss $engine $pss"
    } >>"$resources"
}
cleanup_monitor() { remove_by_name "$1" bench-one-1; }

once() { # ROW
    local row=$1 engine
    note "$row"
    for engine in "${engines[@]}"; do
        if [ -n "${unavailable[$engine]:-}" ]; then
            mark_na "$row" "$engine" "${unavailable[$engine]}"
            continue
        fi
        "measure_$row" "$engine" >/dev/null 2>"$work/err" || mark_na "$row" "$engine" "$(first_line "$work/err")"
        "cleanup_$row" "$engine"
    done
}
rows=(disk memory monitor)
for row in "${rows[@]}"; do
    if wanted "$row"; then once "$row"; fi
done

# --- the table --------------------------------------------------------------------
versions="berth $("$berth" --version 2>/dev/null | head -n1 | awk '{print $NF}' || true)"
versions+=", docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
versions+=", podman $(podman version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)

python3 - "$samples" "$resources" "$cells" "$ps_containers" "$blob_mib" \
    "$((df_dirs * df_files_per_dir))" "$disk_containers" "$idle_containers" \
    "$((tar_dirs * tar_files_per_dir))" >"$work/table.md" <<'PY'
import statistics
import sys
from collections import defaultdict

samples_file, resources_file, cells_file = sys.argv[1:4]
ps_count, blob_mib, df_files, disk_count, idle_count, tar_files = (int(a) for a in sys.argv[4:10])
engines = ["berth", "docker", "podman"]
MiB = 1024  # the memory values are KiB

timed = [
    ("run_none", "`run --rm --network none busybox true`"),
    ("run_bridge", "`run --rm busybox true` (default bridge)"),
    ("run_publish", "`run --rm -p 80 busybox true` (a published port)"),
    ("run_network", "`run --rm --network NET busybox true` (a user network, with DNS)"),
    ("run_rootless", "rootless: `run --rm busybox true` as an ordinary user (docker: no rootless set-up; podman: rootless, its own storage)"),
    ("runtime", "the OCI runtime alone: `run` of a busybox `true` bundle (berth: its default runtime, docker: runc, podman: its own)"),
    ("lifecycle", "`create` + `start` + `rm -f` (a running container)"),
    ("exec", "`exec c true` in a running container"),
    ("volume", "`volume create` + `volume rm`"),
    ("run_volume", "`run --rm -v vol:/data busybox sh -c 'echo x > /data/f'`"),
    ("cp", f"`cp` of a {blob_mib} MiB file into a running container"),
    ("load", f"`load -i` of a {blob_mib} MiB image (`docker save` archive), `rmi` between runs"),
    ("ps", f"`ps -a` with {ps_count} containers"),
    ("export", f"`volume export VOL -o FILE` of {tar_files} files of 4 KiB"),
    ("import", f"`volume import VOL FILE` of the same (a tar of {tar_files} files) into an empty volume"),
    ("df", f"`system df -v` with a {df_files // 1000}k-file volume"),
    ("df_quota", f"same, the volume sized (`--opt size=1G`; berth: btrfs qgroup)"),
]
# (row, metric, label, cell format of a value)
measured_once = [
    ("disk", "per_container", f"disk per container: `du -sx` growth of the storage dir over {disk_count} `create`s",
     lambda v: f"{v / 1024:.1f} KiB"),
    ("memory", "rss", f"host memory for {idle_count} idle containers (`sleep 3600`), RSS growth of the engine's processes",
     lambda v: f"{v / MiB:.1f} MiB ({v / MiB / idle_count:.2f} MiB each)"),
    ("memory", "pss", f"same, PSS growth (shared pages split among their users)",
     lambda v: f"{v / MiB:.1f} MiB ({v / MiB / idle_count:.2f} MiB each)"),
    ("monitor", "rss", "one idle container's own engine process (berth monitor, containerd-shim, conmon), RSS",
     lambda v: f"{v / MiB:.2f} MiB"),
    ("monitor", "pss", "same, PSS", lambda v: f"{v / MiB:.2f} MiB"),
]

times = defaultdict(list)
for line in open(samples_file):
    op, engine, usec = line.split()
    times[op, engine].append(int(usec) / 1000)
values = {}
for line in open(resources_file):
    row, metric, engine, value = line.split()
    values[row, metric, engine] = int(value)
na = {}
for line in open(cells_file):
    key, engine, reason = line.rstrip("\n").split(" ", 2)
    na.setdefault((key, engine), reason)


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def table(header, rows):
    rows = list(rows)
    if not rows:
        return
    print()
    print("| " + " | ".join(header) + " |")
    print("| --- | " + " | ".join("---:" for _ in header[1:]) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def median(op, e):
    return None if (op, e) in na or not times[op, e] else statistics.median(times[op, e])


def timed_rows():
    for op, label in timed:
        if not any(times[op, e] or (op, e) in na for e in engines):
            continue  # not run (--only)
        medians = {e: median(op, e) for e in engines}
        cells = [f"n/a ({na.get((op, e), 'no runs')})" if medians[e] is None else f"{medians[e]:.1f}" for e in engines]
        runs = max(len(times[op, e]) for e in engines)
        yield [label, str(runs)] + cells + [ratio(medians["berth"], medians["docker"]), ratio(medians["berth"], medians["podman"])]
        # Network setup and teardown alone, as far as the CLI shows it: what the
        # default bridge adds to a run (no engine has a command that only sets up
        # a container's network; a berth command or a bench/net.sh step timing
        # that alone would be a row of its own, here).
        if op == "run_bridge" and any(times["run_none", e] for e in engines):
            minus = {e: None if median(op, e) is None or median("run_none", e) is None
                     else median(op, e) - median("run_none", e) for e in engines}
            cells = ["n/a" if minus[e] is None else f"{minus[e]:.1f}" for e in engines]
            yield ["network setup + teardown alone: the bridge row's median less the `--network none` row's", ""] \
                + cells + [ratio(minus["berth"], minus["docker"]), ratio(minus["berth"], minus["podman"])]


def once_rows():
    for row, metric, label, fmt in measured_once:
        if not any((row, metric, e) in values or (row, e) in na for e in engines):
            continue  # not run (--only)
        got = {e: None if (row, e) in na else values.get((row, metric, e)) for e in engines}
        cells = [f"n/a ({na.get((row, e), 'not measured')})" if got[e] is None else fmt(got[e]) for e in engines]
        yield [label] + cells + [ratio(got["berth"], got["docker"]), ratio(got["berth"], got["podman"])]


table(["operation (median ms)", "N", "berth", "docker", "podman", "berth/docker", "berth/podman"], timed_rows())
table(["resource (measured once)", "berth", "docker", "podman", "berth/docker", "berth/podman"], once_rows())
base = values.get(("memory", "base_rss", "docker"))
if base is not None:
    print()
    print(f"Not in the memory rows: dockerd + containerd held {base / MiB:.1f} MiB RSS before the containers started;"
          " berth and podman run no daemon.")
PY

{
    echo "# berth vs docker vs podman"
    echo
    echo "Times are the median wall time in milliseconds of N runs per cell (after one warm-up run), the"
    echo "engines taking turns run by run; each time is the whole CLI command, as a user sees it. Same"
    echo "busybox image tar imported into each engine. The resource rows are measured once per engine, one"
    echo "engine at a time; memory counts the engine's own processes (berth: its per-container monitors;"
    echo "docker: dockerd, containerd and the containerd-shims; podman: its conmons), not the containers'."
    echo "Made by \`bench/compare.sh -n $runs --heavy-n $heavy_runs${only:+ --only $only}\`."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($cpu_model), kernel $(uname -r), load average before the run: $load_before"
    echo "- engines: $versions"
    echo "- podman run/create flags: ${podman_flags[*]:-none}"
    cat "$work/table.md"
} >"$work/results.md"
cat "$work/results.md"
if [ -n "$out_file" ]; then
    mkdir -p "$(dirname "$out_file")"
    cp "$work/results.md" "$out_file"
fi

#!/usr/bin/env bash
# Times `berth volume export` / `volume import` against `tar -c` / `tar -x` of
# the very same directory and against `podman volume export` / `import` (when
# podman is installed), and prints a Markdown table (append it to
# bench/RESULTS.md by hand).
#
# usage: bench/volume-tar.sh [-n N] [--files N] [--berth PATH]
#
#   -n N          timed runs per cell (default 5), after one untimed warm-up;
#                 the tools take turns, run by run; the median is shown
#   --files N     small files in the volume (default 20000, 4 KiB each, in
#                 directories of 500), plus eight 16 MiB files
#   --berth PATH  berth binary (default: $BERTH_BIN, else the release build)
#
# Every tool writes its tar to a file in the same directory of /var/tmp (a
# tar written to /dev/null is not read by GNU tar at all). berth keeps its
# state in its own root, /var/lib/berth-bench-voltar; everything made is
# removed at the end, also on an interrupted run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C

runs=5
files=20000
berth=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        --files) files=${2:?--files needs a number}; shift 2 ;;
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
require_root
[ -n "$berth" ] || berth=$(berth_binary)
root=/var/lib/berth-bench-voltar
work=$(mktemp -d /var/tmp/berth-voltar.XXXXXX)
have_podman=""
command -v podman >/dev/null && have_podman=1
B() { "$berth" --root "$root" "$@"; }
cleanup() {
    B volume rm -f bench-exp bench-imp >/dev/null 2>&1 || true
    [ -z "$have_podman" ] || podman volume rm -f bench-exp bench-imp >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

B volume create bench-exp >/dev/null
data=$(B volume inspect -f '{{.Mountpoint}}' bench-exp)
python3 - "$data" "$files" <<'PY'
import os, sys
root, files = sys.argv[1], int(sys.argv[2])
block = os.urandom(4096)
for i in range(files):
    d = os.path.join(root, f"d{i // 500}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(block)
for i in range(8):
    with open(os.path.join(root, f"big{i}"), "wb") as f:
        f.write(os.urandom(16 << 20))
PY
if [ -n "$have_podman" ]; then
    podman volume create bench-exp >/dev/null
    cp -a "$data/." "$(podman volume inspect -f '{{.Mountpoint}}' bench-exp)/"
fi
sync

samples="$work/samples"
: >"$samples"
time_op() { # NAME COMMAND...: one timed run, microseconds appended to samples
    local name=$1 start end
    shift
    start=${EPOCHREALTIME/./}
    "$@" >/dev/null
    end=${EPOCHREALTIME/./}
    echo "$name $((end - start))" >>"$samples"
}
op_berth_export() { B volume export bench-exp -o "$work/berth.tar"; }
op_tar_c() { tar -cf "$work/tar.tar" -C "$data" .; }
op_podman_export() { podman volume export bench-exp -o "$work/podman.tar"; }
op_berth_import() {
    B volume rm -f bench-imp >/dev/null
    B volume import bench-imp "$work/berth.tar"
}
op_tar_x() { rm -rf "$work/x" && mkdir "$work/x" && tar -xpf "$work/tar.tar" -C "$work/x"; }
op_podman_import() {
    podman volume rm -f bench-imp >/dev/null
    podman volume create bench-imp >/dev/null
    podman volume import bench-imp "$work/podman.tar"
}
ops=(berth_export tar_c berth_import tar_x)
[ -z "$have_podman" ] || ops+=(podman_export podman_import)
for ((i = 0; i <= runs; i++)); do
    for op in "${ops[@]}"; do
        if [ "$i" -eq 0 ]; then "op_$op" >/dev/null; else time_op "$op" "op_$op"; fi
    done
done
median() { # NAME: median in ms
    awk -v n="$1" '$1 == n { print $2 }' "$samples" | sort -n \
        | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}
cell() { [ -n "$have_podman" ] && median "$1" || echo "n/a"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "n/a" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
size=$(du -sh "$data" | cut -f1)
be=$(median berth_export) tc=$(median tar_c) pe=$(cell podman_export)
bi=$(median berth_import) tx=$(median tar_x) pi=$(cell podman_import)
cat <<MD
| volume of $files x 4 KiB + 8 x 16 MiB ($size), median ms of $runs | berth | \`tar\` | podman | berth/tar | berth/podman |
| --- | ---: | ---: | ---: | ---: | ---: |
| \`volume export -o FILE\` vs \`tar -cf FILE -C DIR .\` | $be | $tc | $pe | $(ratio "$be" "$tc") | $(ratio "$be" "$pe") |
| \`volume import VOL FILE\` (new volume) vs \`tar -xpf FILE -C DIR\` | $bi | $tx | $pi | $(ratio "$bi" "$tx") | $(ratio "$bi" "$pi") |
MD

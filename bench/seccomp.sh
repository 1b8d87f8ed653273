#!/usr/bin/env bash
# What a container's seccomp filter (Docker's default profile) adds to a start,
# and where it goes. Prints three Markdown tables:
#
#  1. engines: `run --rm --network none busybox true` with the default filter
#     and with `--security-opt seccomp=unconfined`, for berth with runc, berth
#     with crun (its filter handed over precompiled) and dockerd;
#  2. the runtime alone on the bundle berth writes: `runc run` / `crun run`
#     with the spec's filter, crun with the compiled program as
#     `run.oci.seccomp_bpf_data`, and without `linux.seccomp`;
#  3. libseccomp alone (when libseccomp-dev is installed): the calls runc
#     makes for the filter, for one, two and three architectures.
#
# usage: bench/seccomp.sh [-n N] [--berth PATH]
#
#   -n N          timed runs per cell (default 20) after one untimed warm-up;
#                 the variants take turns, run by run
#   --berth PATH  berth binary (default: $BERTH_BIN, else this workspace's build)
#
# crun refuses a hybrid cgroup host ("cgroups in hybrid mode not supported"):
# berth runs it in a mount namespace without /sys/fs/cgroup/unified; run
# alone here, crun runs behind a wrapper that unmounts it likewise. A
# variant that cannot run shows "n/a" with the reason. berth keeps its state
# in /var/lib/berth-bench-seccomp, removed at the end.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
export LC_ALL=C # $EPOCHREALTIME uses the locale's decimal point

runs=20
berth=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        -h|--help) sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, not '$runs'"
require_root
"$repo_dir/scripts/install-deps.sh" --with-bench
"$repo_dir/scripts/start-dockerd.sh"
[ -n "$berth" ] || berth=$(berth_binary)
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

root=/var/lib/berth-bench-seccomp
work=$(mktemp -d /tmp/berth-bench-seccomp.XXXXXX)
cleanup() {
    "$berth" --root "$root" rm -f bench-seccomp-bundle >/dev/null 2>&1 || true
    rm -rf "$root" "$work"
    # the runtimes remove their containers' cgroups, not the parent they named
    local dir
    for dir in /sys/fs/cgroup/berth-bench-seccomp /sys/fs/cgroup/*/berth-bench-seccomp; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    true
}
trap cleanup EXIT
B() { "$berth" --root "$root" "$@"; }

tar="$work/busybox.tar"
"$repo_dir/scripts/make-busybox-image.sh" --no-import --docker --out "$tar" >/dev/null 2>"$work/err" \
    || die "making the busybox image failed: $(grep -m1 . "$work/err")"
B import -c 'CMD ["sh"]' "$tar" busybox:latest >/dev/null

crun=$(command -v crun || true)
crun_runtime=""
if [ -n "$crun" ]; then
    crun_runtime="$work/crun"
    if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
        cat >"$crun_runtime" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified; exec "\$0" "\$@"' $crun "\$@"
EOF
    else
        printf '#!/bin/sh\nexec %s "$@"\n' "$crun" >"$crun_runtime"
    fi
    chmod 755 "$crun_runtime"
fi
docker_ok=""
if docker version >/dev/null 2>&1; then
    docker_import "$tar" berth-bench/seccomp '["sh"]'
    docker_ok=1
fi

# time_cells LABEL... : runs each variant's command (cmd_LABEL) $runs times,
# variants taking turns, after one warm-up; prints "LABEL median min cpu"
# lines: the wall time's median and minimum, and the median CPU time (user +
# system) of the processes the command waited for, which other work on the
# machine does not inflate (it misses a detached monitor's runtime: the
# engine rows' CPU is the CLI's alone).
time_cells() {
    local label i start end
    for label in "$@"; do
        "cmd_$label" >/dev/null 2>"$work/err.$label" || echo "$label" >>"$work/failed"
        : >"$work/t.$label"
    done
    for ((i = 0; i < runs; i++)); do
        for label in "$@"; do
            grep -qx "$label" "$work/failed" 2>/dev/null && continue
            times >"$work/cpu.before" # a builtin: no process of its own
            start=$EPOCHREALTIME
            "cmd_$label" >/dev/null 2>>"$work/err.$label" || { echo "$label" >>"$work/failed"; continue; }
            end=$EPOCHREALTIME
            times >"$work/cpu.after"
            awk -v s="$start" -v e="$end" '
                function ms(t, m) { split(t, m, /[ms]/); return (m[1] * 60 + m[2]) * 1000 }
                FNR == 2 { cpu[FILENAME] = ms($1) + ms($2) }
                END { printf "%.3f %.3f\n", (e - s) * 1000, cpu[ARGV[2]] - cpu[ARGV[1]] }
            ' "$work/cpu.before" "$work/cpu.after" >>"$work/t.$label"
        done
    done
    for label in "$@"; do
        if grep -qx "$label" "$work/failed" 2>/dev/null; then
            echo "$label n/a ($(grep -m1 . "$work/err.$label" | cut -c1-70 | tr '|' '/'))"
        else
            awk '{ print $2 }' "$work/t.$label" | sort -n >"$work/cpu.sorted"
            sort -n "$work/t.$label" | awk -v l="$label" -v cpu="$work/cpu.sorted" '{ a[NR] = $1 }
                END { n = 0; while ((getline c < cpu) > 0) b[++n] = c
                      printf "%s %.1f %.1f %.1f\n", l, a[int((NR + 1) / 2)], a[1], b[int((n + 1) / 2)] }'
        fi
    done
}
# cell LABEL: "median (min M)", or "n/a (why)"; cpu LABEL: the median CPU time
cell() {
    awk -v l="$1" '$1 == l { $1 = ""; sub(/^ /, "")
        if ($2 ~ /^[0-9.]+$/) printf "%s (min %s)\n", $1, $2; else print }' "$work/cells"
}
cpu() { awk -v l="$1" '$1 == l { print ($4 ~ /^[0-9.]+$/) ? $4 : "n/a" }' "$work/cells"; }
# diff_cell A B [FIELD]: A's median (or FIELD 4: CPU) minus B's, or n/a
diff_cell() {
    local a b field=${3:-2}
    a=$(awk -v l="$1" -v f="$field" '$1 == l { print $f }' "$work/cells")
    b=$(awk -v l="$2" -v f="$field" '$1 == l { print $f }' "$work/cells")
    if [[ "$a" =~ ^[0-9.]+$ && "$b" =~ ^[0-9.]+$ ]]; then
        awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.1f", a - b }'
    else
        echo "n/a"
    fi
}

# --- 1. engines -------------------------------------------------------------------
unconfined=(--security-opt seccomp=unconfined)
cmd_berth_runc() { B --runtime runc run --rm --network none busybox true; }
cmd_berth_runc_unconfined() { B --runtime runc run --rm --network none "${unconfined[@]}" busybox true; }
cmd_berth_crun() { [ -n "$crun" ] || { echo "crun is not installed" >&2; return 1; }; B --runtime crun run --rm --network none busybox true; }
cmd_berth_crun_unconfined() { [ -n "$crun" ] || { echo "crun is not installed" >&2; return 1; }; B --runtime crun run --rm --network none "${unconfined[@]}" busybox true; }
cmd_docker() { [ -n "$docker_ok" ] || { echo "dockerd does not answer" >&2; return 1; }; docker run --rm --network none berth-bench/seccomp true; }
cmd_docker_unconfined() { [ -n "$docker_ok" ] || { echo "dockerd does not answer" >&2; return 1; }; docker run --rm --network none "${unconfined[@]}" berth-bench/seccomp true; }
echo "bench: engines, $runs runs each" >&2
time_cells berth_runc berth_runc_unconfined berth_crun berth_crun_unconfined docker docker_unconfined >"$work/cells"

# --- 2. the runtime alone ---------------------------------------------------------
# The bundle berth writes for `run --network none busybox true`, its rootfs
# copied out and the network namespace made fresh (berth's is gone with it).
B --runtime runc run -d --name bench-seccomp-bundle --network none busybox sleep 600 >/dev/null
id=$(B inspect -f '{{.Id}}' bench-seccomp-bundle)
mkdir -p "$work/bundle/rootfs"
cp -a "$root/containers/$id/merged/." "$work/bundle/rootfs/"
cp "$root/containers/$id/config.json" "$work/bundle/berth.json"
B rm -f bench-seccomp-bundle >/dev/null
python3 - "$work/bundle" <<'PY'
import copy, json, os, sys

bundle = sys.argv[1]
spec = json.load(open(os.path.join(bundle, "berth.json")))
spec["root"] = {"path": "rootfs", "readonly": False}
spec["process"]["args"] = ["true"]
spec["process"]["terminal"] = False
spec["mounts"] = [m for m in spec["mounts"] if not m.get("source", "").startswith("/var/lib")]
for ns in spec["linux"]["namespaces"]:
    ns.pop("path", None)
spec["linux"]["cgroupsPath"] = "/berth-bench-seccomp/" + str(os.getpid())
json.dump(spec, open(os.path.join(bundle, "filter.json"), "w"))
bare = copy.deepcopy(spec)
del bare["linux"]["seccomp"]
json.dump(bare, open(os.path.join(bundle, "unconfined.json"), "w"))
s = spec["linux"]["seccomp"]
with open(os.path.join(bundle, "profile.txt"), "w") as out:
    names = sum(len(r["names"]) for r in s["syscalls"])
    print(f"{len(s['syscalls'])} rules, {names} names, architectures {' '.join(s['architectures'])}", file=sys.stderr)
    out.write(" ".join(s["architectures"]) + "\n")
    out.write(f"{s['defaultAction']} {s.get('defaultErrnoRet', 1)}\n")
    ops = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
           "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
    for r in s["syscalls"]:
        args = r.get("args") or []
        for n in r["names"]:
            cmps = "".join(f" {a['index']} {ops[a['op']]} {a['value']} {a.get('valueTwo', 0)}" for a in args)
            out.write(f"{n} {r['action']} {r.get('errnoRet', 1)} {len(args)}{cmps}\n")
PY
state="$work/state"
# runtime_run RUNTIME SPEC: one `RUNTIME run` of the bundle with config SPEC
runtime_run() {
    cp "$work/bundle/$2" "$work/bundle/config.json"
    (cd "$work/bundle" && "$1" --root "$state" run "bench-$$") >/dev/null
}
cmd_runc_filter() { runtime_run runc filter.json; }
cmd_runc_unconfined() { runtime_run runc unconfined.json; }
cmd_crun_filter() { [ -n "$crun_runtime" ] || { echo "crun is not installed" >&2; return 1; }; runtime_run "$crun_runtime" filter.json; }
cmd_crun_precompiled() { [ -s "$work/bundle/precompiled.json" ] || { echo "no program compiled by crun" >&2; return 1; }; runtime_run "$crun_runtime" precompiled.json; }
cmd_crun_unconfined() { [ -n "$crun_runtime" ] || { echo "crun is not installed" >&2; return 1; }; runtime_run "$crun_runtime" unconfined.json; }
if [ -n "$crun_runtime" ]; then
    # The program crun compiles for the filter, kept as berth keeps it.
    cp "$work/bundle/filter.json" "$work/bundle/config.json"
    (cd "$work/bundle" && "$crun_runtime" --root "$state" create "bench-compile-$$") >/dev/null
    python3 - "$work/bundle" "$state/bench-compile-$$/seccomp.bpf" <<'PY'
import base64, json, os, sys

bundle, program = sys.argv[1], open(sys.argv[2], "rb").read()
spec = json.load(open(os.path.join(bundle, "filter.json")))
spec.setdefault("annotations", {})["run.oci.seccomp_bpf_data"] = base64.b64encode(program).decode()
json.dump(spec, open(os.path.join(bundle, "precompiled.json"), "w"))
print(f"crun's program: {len(program) // 8} instructions", file=sys.stderr)
PY
    "$crun_runtime" --root "$state" delete -f "bench-compile-$$" >/dev/null
fi
echo "bench: the runtime alone, $runs runs each" >&2
time_cells runc_filter runc_unconfined crun_filter crun_precompiled crun_unconfined >>"$work/cells"

# --- 3. libseccomp alone ----------------------------------------------------------
libseccomp_rows=""
if [ -f /usr/include/seccomp.h ] && command -v gcc >/dev/null; then
    gcc -O2 -o "$work/compile" "$repo_dir/bench/seccomp-compile.c" -lseccomp
    profile="$work/bundle/profile.txt"
    for archs in "SCMP_ARCH_X86_64" "SCMP_ARCH_X86_64 SCMP_ARCH_X86" "SCMP_ARCH_X86_64 SCMP_ARCH_X86 SCMP_ARCH_X32"; do
        { echo "$archs"; tail -n +2 "$profile"; } >"$work/archs.txt"
        libseccomp_rows+="| ${archs//SCMP_ARCH_/} | $("$work/compile" "$work/archs.txt" "$runs") |"$'\n'
    done
fi

# --- tables -----------------------------------------------------------------------
cat <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)
- $(runc --version | head -1), $( [ -n "$crun" ] && crun --version | head -1 || echo "crun: not installed"), $(runc --version | grep libseccomp)

| \`run --rm --network none busybox true\` (median ms, min) | default filter | \`seccomp=unconfined\` | filter adds |
| --- | ---: | ---: | ---: |
| berth, runc (compiles the filter at every start) | $(cell berth_runc) | $(cell berth_runc_unconfined) | $(diff_cell berth_runc berth_runc_unconfined) |
| berth, crun (the filter precompiled, from berth's cache) | $(cell berth_crun) | $(cell berth_crun_unconfined) | $(diff_cell berth_crun berth_crun_unconfined) |
| dockerd 20.10, runc | $(cell docker) | $(cell docker_unconfined) | $(diff_cell docker docker_unconfined) |

| the runtime alone, \`RUNTIME run\` of berth's bundle | wall ms, median (min) | filter adds | CPU ms, median | filter adds |
| --- | ---: | ---: | ---: | ---: |
| runc, \`linux.seccomp\` (libseccomp in runc init) | $(cell runc_filter) | $(diff_cell runc_filter runc_unconfined) | $(cpu runc_filter) | $(diff_cell runc_filter runc_unconfined 4) |
| runc, no filter | $(cell runc_unconfined) | | $(cpu runc_unconfined) | |
| crun, \`linux.seccomp\` (libseccomp in crun) | $(cell crun_filter) | $(diff_cell crun_filter crun_unconfined) | $(cpu crun_filter) | $(diff_cell crun_filter crun_unconfined 4) |
| crun, \`run.oci.seccomp_bpf_data\` (the program crun compiled) | $(cell crun_precompiled) | $(diff_cell crun_precompiled crun_unconfined) | $(cpu crun_precompiled) | $(diff_cell crun_precompiled crun_unconfined 4) |
| crun, no filter | $(cell crun_unconfined) | | $(cpu crun_unconfined) | |
EOF
if [ -n "$libseccomp_rows" ]; then
    cat <<EOF

| libseccomp $(runc --version | sed -n 's/^libseccomp: //p'), runc's calls for the filter: architectures | rules added (min ms) | BPF generated (min ms) | total (min ms) | BPF instructions |
| --- | ---: | ---: | ---: | ---: |
$libseccomp_rows
EOF
fi

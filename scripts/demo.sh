#!/usr/bin/env bash
# berth's main job end to end (README's first command: `scripts/demo.sh`, as root).
# Installs what is missing, builds berth, makes busybox:latest in berth's default
# root (/var/lib/berth), then walks through SCENARIOS.md:
#   §1 a container's changes live in its own writable layer: they survive
#      stop/start, vanish with `rm`, and `commit` turns them into a new image
#      version while the old image stays as it was;
#   §3 a named volume is managed storage that outlives the containers using it.
# Every berth command is echoed (`+ berth ...`) before it runs; the script exits
# non-zero at the first expectation that fails. What it creates is removed at
# the end (busybox:latest stays).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 0 ] || die "takes no arguments"
require_root
cargo_on_path
cd "$repo_dir"

"$repo_dir/scripts/install-deps.sh"
echo "== building berth (cargo build --release -p berth)"
cargo build --release -p berth --quiet
berth="$repo_dir/target/release/berth"
echo "== making busybox:latest from Debian's busybox-static"
"$repo_dir/scripts/make-busybox-image.sh" --berth "$berth"

# A word is shown bare when the shell would read it back unchanged, else quoted.
show() {
    local word line="+ berth"
    for word in "$@"; do
        if [[ "$word" =~ ^[][A-Za-z0-9_./:=@%+,{}-]+$ ]]; then
            line+=" $word"
        else
            line+=" '${word//\'/\'\\\'\'}'"
        fi
    done
    echo "$line"
}

# b ARGS...: echo and run `berth ARGS`, showing its output; its stdout is kept
# in $out (trailing newline trimmed) and its exit code in $rc.
b() {
    show "$@"
    local errfile
    errfile=$(mktemp)
    rc=0
    out=$("$berth" "$@" 2>"$errfile") || rc=$?
    [ -z "$out" ] || printf '%s\n' "$out"
    [ ! -s "$errfile" ] || sed 's/^/  (stderr) /' "$errfile"
    rm -f "$errfile"
}

fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { echo "   ok: $*"; }

# b_ok ARGS...: the command must succeed.
b_ok() { b "$@"; [ "$rc" -eq 0 ] || fail "berth $* exited $rc"; }
# expect_out WANT ARGS...: the command must succeed and print exactly WANT.
expect_out() {
    local want=$1; shift
    b_ok "$@"
    [ "$out" = "$want" ] || fail "berth $* printed '$out', expected '$want'"
    ok "prints '$want'"
}
# expect_fail WHY ARGS...: the command must fail.
expect_fail() {
    local why=$1; shift
    b "$@"
    [ "$rc" -ne 0 ] || fail "berth $* succeeded, but $why"
    ok "fails (exit $rc): $why"
}

containers=(demo-app demo-db demo-db2 demo-user)
cleanup() {
    "$berth" rm -f "${containers[@]}" >/dev/null 2>&1 || true
    "$berth" rmi demo-app:v2 >/dev/null 2>&1 || true
    "$berth" volume rm demo-data >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT

echo
echo "== §1 A container is its image plus one writable layer of its own"
b_ok run -d --name demo-app busybox sleep 3600
b_ok exec demo-app sh -c 'echo hello > /hello.txt'
expect_out hello exec demo-app cat /hello.txt
echo "-- stopping and starting a container keeps its writable layer"
b_ok stop -t 1 demo-app
b_ok start demo-app
expect_out hello exec demo-app cat /hello.txt
echo "-- another container of the same image does not see the change"
expect_fail "/hello.txt exists only in demo-app's layer" run --rm busybox cat /hello.txt
echo "-- commit makes a new image version from the container's changes"
b_ok commit demo-app demo-app:v2
echo "-- removing the container removes its writable layer"
b_ok rm -f demo-app
b_ok run -d --name demo-app busybox sleep 3600
expect_fail "a new container of busybox starts from the unchanged image" exec demo-app cat /hello.txt
b_ok rm -f demo-app
expect_out hello run --rm demo-app:v2 cat /hello.txt
b_ok images

echo
echo "== §3 Volumes outlive the containers that use them"
expect_out demo-data volume create demo-data
b_ok volume ls
grep -Eq '^local +demo-data$' <<<"$out" || fail "volume ls has no 'local     demo-data' row"
ok "volume ls lists demo-data with the local driver"
b_ok volume inspect demo-data
mountpoint=$(jq -r '.[0].Mountpoint' <<<"$out") || fail "volume inspect did not print a JSON array"
[ "$(jq -r '.[0].Name + " " + .[0].Driver + " " + .[0].Scope' <<<"$out")" = "demo-data local local" ] \
    || fail "volume inspect: Name/Driver/Scope are not demo-data/local/local"
[ "$mountpoint" = /var/lib/berth/volumes/demo-data/_data ] || fail "Mountpoint is $mountpoint"
ok "inspect: Driver local, Scope local, Mountpoint $mountpoint"
b_ok run -d --name demo-db -v demo-data:/data busybox sh -c 'echo kept > /data/note; sleep 3600'
for _ in $(seq 1 20); do
    [ "$(cat "$mountpoint/note" 2>/dev/null)" = kept ] && break
    sleep 0.25
done
[ "$(cat "$mountpoint/note" 2>/dev/null)" = kept ] || fail "the container's write is not at $mountpoint/note on the host"
ok "the container's write landed in the volume's Mountpoint on the host"
echo "-- replace the container: remove it and start a new one on the same volume"
b_ok rm -f demo-db
expect_out kept run --name demo-db2 -v demo-data:/data busybox cat /data/note
echo "-- a volume in use by a container (even a stopped one) cannot be removed"
expect_fail "demo-db2 (stopped) still uses demo-data" volume rm demo-data
[ -f "$mountpoint/note" ] || fail "the failed volume rm touched the data"
ok "the data is intact"
b_ok rm demo-db2
expect_out demo-data volume rm demo-data
b_ok volume ls
! grep -Eq ' demo-data$' <<<"$out" || fail "demo-data is still listed after volume rm"
ok "demo-data is gone"

echo
echo "demo: every expectation held"

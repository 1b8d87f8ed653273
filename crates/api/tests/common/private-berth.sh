#!/usr/bin/env bash
# Runs a command against a private `berth serve`, made the way the API
# tests' harness (common/mod.rs) makes one: a fresh root with busybox:latest,
# a slot of the tests' own (/run/berth-tests/N, flocked for as long as the
# command runs, as isolation.rs takes them) for its run directory, default
# bridge berth-tN on 10.(128+N).0.0/16 and plugin directory; the server on a
# socket in the root. Everything is removed afterwards, whatever the command
# did. For scripts that drive outside clients by hand, e.g.
#
#   crates/api/tests/common/private-berth.sh \
#       /opt/berth-testcontainers/bin/python crates/api/tests/testcontainers/driver.py
#
# usage: private-berth.sh COMMAND [ARGS...]   (DOCKER_HOST is set for it;
#        berth is $BERTH_BIN, else target/release/berth; the image tar is
#        $BERTH_BUSYBOX_TAR, else one scripts/make-busybox-image.sh makes)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
[ $# -gt 0 ] || die "usage: ${0##*/} COMMAND [ARGS...]"
berth=${BERTH_BIN:-$repo/target/release/berth}
[ -x "$berth" ] || die "$berth not found: cargo build --release -p berth (or set BERTH_BIN)"

slots=72 dir=/run/berth-tests
mkdir -p "$dir"
slot=""
for i in $(seq 0 $((slots - 1))); do
    n=$(( ($$ + i) % slots ))
    exec {lock}>"$dir/$n.lock"
    if flock -n "$lock"; then slot=$n; break; fi
    exec {lock}>&-
done
[ -n "$slot" ] || die "no free test slot in $dir"
bridge="berth-t$slot" state="$dir/$slot"

# What a holder of the slot may have left, and what this run leaves: the
# bridge's ports and the bridge, namespaces, the slot's state and leases.
clean_slot() {
    local port ns
    for port in /sys/class/net/"$bridge"/brif/*; do
        [ -e "$port" ] && ip link del "${port##*/}" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    for ns in "$state"/run/netns/*; do
        [ -e "$ns" ] && umount -l "$ns" 2>/dev/null || true
    done
    rm -rf "$state" "/run/berth/leases/$bridge"
}

work=$(mktemp -d /var/tmp/berth-tests/private-berth.XXXXXX 2>/dev/null \
    || { mkdir -p /var/tmp/berth-tests && mktemp -d /var/tmp/berth-tests/private-berth.XXXXXX; })
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; fi
    local ids
    ids=$(b ps -aq --no-trunc 2>/dev/null || true)
    [ -z "$ids" ] || b rm -fv $ids >/dev/null 2>&1 || true
    b network prune -f >/dev/null 2>&1 || true
    rm -rf "$work"
    clean_slot
}
trap cleanup EXIT
clean_slot
mkdir -p "$state/run" "$state/plugins"
printf '{"bridge": "%s", "bip": "10.%d.0.1/16"}\n' "$bridge" $((128 + slot)) >"$state/daemon.json"
export BERTH_RUN_DIR="$state/run" BERTH_DAEMON_CONFIG="$state/daemon.json" BERTH_PLUGIN_DIRS="$state/plugins"
b() { "$berth" --root "$work/root" "$@"; }

tar=${BERTH_BUSYBOX_TAR:-}
if [ -z "$tar" ]; then
    tar="$work/busybox.tar"
    "$repo/scripts/make-busybox-image.sh" --no-import --out "$tar" >/dev/null
fi
b import -c 'CMD ["sh"]' "$tar" busybox:latest >/dev/null
# Not through b(): $! must be the server itself, for the kill above.
"$berth" --root "$work/root" serve -H "unix://$work/api.sock" </dev/null >/dev/null 2>"$work/serve.log" &
server=$!
for _ in $(seq 200); do [ -S "$work/api.sock" ] && break; sleep 0.05; done
[ -S "$work/api.sock" ] || { cat "$work/serve.log" >&2; die "berth serve did not come up"; }

status=0
DOCKER_HOST="unix://$work/api.sock" "$@" || status=$?
exit "$status"

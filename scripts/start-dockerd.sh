#!/usr/bin/env bash
# Starts Debian's dockerd (the reference engine berth's tests compare against)
# in the background unless one already answers, then waits until `docker info`
# works. Logs go to /tmp/dockerd.log; the data root is dockerd's default.
# On these machines (cgroup v1 + v2 hybrid, no systemd) dockerd needs no extra
# options: it picks the cgroupfs driver and starts its own containerd.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -eq 0 ] || die "takes no arguments"
require_root
command -v dockerd >/dev/null || die "dockerd not found (run scripts/install-deps.sh)"
command -v docker >/dev/null || die "docker CLI not found (run scripts/install-deps.sh)"

docker info >/dev/null 2>&1 && exit 0

log=/tmp/dockerd.log
# The default dockerd is the one whose pidfile is /var/run/docker.pid; a private
# dockerd (its own --pidfile and socket, as the outside-client runs start) is not it.
default_alive() { [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }
if ! default_alive; then
    # setsid: the daemon must outlive this script and the shell that ran it.
    setsid dockerd >>"$log" 2>&1 </dev/null &
fi

deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
    docker info >/dev/null 2>&1 && exit 0
    default_alive || pgrep -f '^dockerd$' >/dev/null || { tail -n 20 "$log" >&2; die "dockerd exited (log: $log)"; }
    sleep 0.5
done
tail -n 20 "$log" >&2
die "dockerd did not answer within 60s (log: $log)"

#!/usr/bin/env bash
# Runs docker-py's own integration tests against an engine: every file of
# tests/integration except swarm, services, secrets, configs, plugins and
# nodes (a single engine is never in a swarm), minus what needs a registry.
#
# usage: crates/api/tests/docker-py/run.sh DOCKER_PY_SRC (berth|dockerd) [PYTEST ARGS...]
#        (DPY_ONLY="NODE_ID..." for chosen tests, DPY_RUNS=N runs them N times
#        against the same engine)
#
# The images: busybox:latest, and alpine:3.10 = alpine:latest (busybox applets
# plus a `postgres` user), both from scripts/make-busybox-image.sh.
#
#   DOCKER_PY_SRC  a checkout of github.com/docker/docker-py at tag 7.1.0 (its
#                  tests/ are not in the PyPI sdist); never committed here
#   berth          builds a fresh berth root with busybox:latest and alpine:3.10
#                  (busybox applets plus a `postgres` user), with its own run
#                  directory (BERTH_RUN_DIR) and default bridge `dpyb0` on
#                  10.250.0.0/16 (daemon.json `bridge`/`bip`), serves it on a
#                  private socket and runs the tests against it, so that
#                  nothing of another berth root (berth0, /run/berth) is touched
#   dockerd        runs them against a private dockerd (its own data root,
#                  socket and bridge `dpy0`, no iptables rules, so that the
#                  suite's prune tests and networks touch nothing else),
#                  importing the same two images
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
src=${1:?docker-py source dir}; engine=${2:?berth or dockerd}; shift 2

python3 -m pip install -q "docker==7.1.0" pytest pytest-timeout paramiko 2>/dev/null

files=()
for f in "$src"/tests/integration/*_test.py; do
    case "${f##*/}" in
        *swarm*|*service*|*secret*|*config*|*plugin*|*node*) ;;
        *) files+=("tests/integration/${f##*/}") ;;
    esac
done
# DPY_ONLY="tests/integration/x_test.py::Class::test ..." runs just those.
[ -n "${DPY_ONLY:-}" ] && read -r -a files <<<"$DPY_ONLY"
# Registry access (pull/push/search/distribution) is not available here.
deselect="not pull and not push and not search and not distribution and not login"

work=$(mktemp -d /var/tmp/docker-py.XXXXXX)
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    if [ -n "${dockerd_pid:-}" ]; then
        DOCKER_HOST="unix://$work/docker.sock" docker rm -f $(DOCKER_HOST="unix://$work/docker.sock" docker ps -aq) >/dev/null 2>&1 || true
        kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
        umount -R "$work/data" 2>/dev/null || true
    fi
    if [ "$engine" = berth ]; then
        ids=$("$berth" --root "$work/root" ps -aq --no-trunc 2>/dev/null || true)
        [ -n "$ids" ] && "$berth" --root "$work/root" rm -fv $ids >/dev/null 2>&1 || true
        "$berth" --root "$work/root" network prune -f >/dev/null 2>&1 || true
        ip link del dpyb0 2>/dev/null || true
        rm -rf "$BERTH_RUN_DIR"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

case "$engine" in
    berth)
        berth=${BERTH_BIN:-$repo/target/debug/berth}
        # Its own run directory (short: runtime sockets live under it) and
        # default bridge; every berth command below and the server use them.
        BERTH_RUN_DIR=$(mktemp -d /run/dpy.XXXXXX)
        export BERTH_RUN_DIR BERTH_DAEMON_CONFIG="$work/daemon.json"
        echo '{"bridge": "dpyb0", "bip": "10.250.0.1/16"}' >"$BERTH_DAEMON_CONFIG"
        "$repo/scripts/make-busybox-image.sh" --berth "$berth" --root "$work/root" >/dev/null
        "$repo/scripts/make-busybox-image.sh" --berth "$berth" --root "$work/root" \
            --tag alpine:3.10 --with-user postgres >/dev/null
        "$berth" --root "$work/root" tag alpine:3.10 alpine:latest
        "$berth" --root "$work/root" serve -H "unix://$work/berth.sock" 2>"$work/serve.log" &
        server=$!
        for _ in $(seq 100); do [ -S "$work/berth.sock" ] && break; sleep 0.05; done
        export DOCKER_HOST="unix://$work/berth.sock"
        ;;
    dockerd)
        mkdir -p "$work/data" "$work/exec"
        ip link show dpy0 >/dev/null 2>&1 || {
            ip link add dpy0 type bridge && ip addr add 10.99.0.1/16 dev dpy0 && ip link set dpy0 up
        }
        dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
            -H "unix://$work/docker.sock" --bridge=dpy0 --iptables=false >"$work/dockerd.log" 2>&1 &
        dockerd_pid=$!
        export DOCKER_HOST="unix://$work/docker.sock"
        for _ in $(seq 200); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
        docker version >/dev/null
        "$repo/scripts/make-busybox-image.sh" --no-import --docker >/dev/null
        "$repo/scripts/make-busybox-image.sh" --no-import --docker --tag alpine:3.10 --with-user postgres >/dev/null
        docker tag alpine:3.10 alpine:latest
        ;;
    *) echo "engine must be berth or dockerd" >&2; exit 2 ;;
esac

# dockerd 20.10 speaks API 1.41 at most (docker-py 7.1 negotiates the
# newest an engine offers): both engines are driven at 1.41 (docker-py's
# tests read DOCKER_TEST_API_VERSION), so the same tests run on each.
export DOCKER_API_VERSION=1.41 DOCKER_TEST_API_VERSION=1.41
# docker-py keeps contexts next to the client config it finds, or in
# ./contexts without one: a private config, so the context tests start
# from none and leave nothing behind.
export DOCKER_CONFIG="$work/docker-config"
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"
cd "$src"
status=0
for _ in $(seq "${DPY_RUNS:-1}"); do
    python3 -m pytest -p no:cacheprovider --timeout 120 -o timeout_method=thread -v -rf \
        "${files[@]}" -k "$deselect" "$@" || status=$?
done
exit $status

#!/usr/bin/env bash
# Runs docker-py's own integration tests (containers, exec, images, volumes;
# nothing that needs a registry or swarm) against an engine.
#
# usage: crates/api/tests/docker-py/run.sh DOCKER_PY_SRC (berth|dockerd) [PYTEST ARGS...]
#
# The images: busybox:latest, and alpine:3.10 = alpine:latest (busybox applets
# plus a `postgres` user), both from scripts/make-busybox-image.sh.
#
#   DOCKER_PY_SRC  a checkout of github.com/docker/docker-py at tag 7.1.0 (its
#                  tests/ are not in the PyPI sdist); never committed here
#   berth          builds a fresh berth root with busybox:latest and alpine:3.10
#                  (busybox applets plus a `postgres` user), serves it on a
#                  private socket and runs the tests against it
#   dockerd        runs them against the dockerd on /var/run/docker.sock
#                  (scripts/start-dockerd.sh), importing the same two images
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
src=${1:?docker-py source dir}; engine=${2:?berth or dockerd}; shift 2

python3 -m pip install -q "docker==7.1.0" pytest pytest-timeout paramiko 2>/dev/null

files=(tests/integration/api_container_test.py tests/integration/api_exec_test.py
       tests/integration/api_image_test.py tests/integration/api_volume_test.py
       tests/integration/models_containers_test.py tests/integration/models_images_test.py
       tests/integration/models_volumes_test.py)
# Registry access (pull/push/search/distribution) is not available here.
deselect="not pull and not push and not search and not distribution and not login"

work=$(mktemp -d /var/tmp/docker-py.XXXXXX)
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    if [ "$engine" = berth ]; then
        ids=$("$berth" --root "$work/root" ps -aq --no-trunc 2>/dev/null || true)
        [ -n "$ids" ] && "$berth" --root "$work/root" rm -fv $ids >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

case "$engine" in
    berth)
        berth=${BERTH_BIN:-$repo/target/debug/berth}
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
        export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
        docker version >/dev/null
        "$repo/scripts/make-busybox-image.sh" --no-import --docker >/dev/null
        "$repo/scripts/make-busybox-image.sh" --no-import --docker --tag alpine:3.10 --with-user postgres >/dev/null
        docker tag alpine:3.10 alpine:latest
        ;;
    *) echo "engine must be berth or dockerd" >&2; exit 2 ;;
esac

cd "$src"
python3 -m pytest -p no:cacheprovider --timeout 120 -o timeout_method=thread -v -rf "${files[@]}" -k "$deselect" "$@"

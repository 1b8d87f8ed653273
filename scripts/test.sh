#!/usr/bin/env bash
# The project's test command (README: `scripts/test.sh`, as root; CI's .ci/run runs it).
# Installs what is missing, builds berth once in the release profile, makes the
# starter busybox image tar, then runs every crate's tests in that same profile
# so nothing is compiled twice. Tests find:
#   BERTH_BIN           the berth binary (target/release/berth)
#   BERTH_BUSYBOX_TAR   a busybox rootfs tar to `import` into their own temp roots
# dockerd is started as the reference engine and given the same tar as
# busybox:latest; if it cannot start, the run goes on and the tests that need it
# see no daemon.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 0 ] || die "takes no arguments (cargo's own filters: cargo test --workspace --release NAME)"
require_root
cargo_on_path
cd "$repo_dir"

"$repo_dir/scripts/install-deps.sh"

cargo build --release -p berth --quiet
export BERTH_BIN="$repo_dir/target/release/berth"
[ -x "$BERTH_BIN" ] || die "cargo build did not produce $BERTH_BIN"

export BERTH_BUSYBOX_TAR="$repo_dir/target/busybox.tar"

docker_note="dockerd: running, busybox:latest imported"
image_args=(--no-import --out "$BERTH_BUSYBOX_TAR" --docker)
if ! "$repo_dir/scripts/start-dockerd.sh"; then
    docker_note="dockerd: NOT available (see /tmp/dockerd.log); tests comparing with docker cannot run"
    echo "test.sh: warning: $docker_note" >&2
    unset 'image_args[-1]'
fi
"$repo_dir/scripts/make-busybox-image.sh" "${image_args[@]}"

log="$repo_dir/target/test.log"
set +e
cargo test --workspace --release --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run: the sums of cargo's per-binary result lines.
totals=$(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^(passed|failed|ignored);?$/) { sub(";", "", $(i)); n[$(i)] += $(i - 1) }
        }
        binaries++
    }
    END { printf "%d %d %d %d", n["passed"], n["failed"], n["ignored"], binaries }' "$log")
read -r passed failed ignored binaries <<<"$totals"
echo
echo "== summary: $binaries test binaries; $docker_note; full log: $log"
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || echo "cargo test exited $status with no failing test (a build error?): see $log"
echo "$passed passed, $failed failed, $ignored skipped"
exit "$status"

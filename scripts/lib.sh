# shellcheck shell=bash
# Shared helpers for the scripts in this directory; sourced, never run.
# Sets repo_dir (the workspace root) and defines die, require_root, berth_binary,
# cargo_on_path and docker_import.

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "${0##*/}: $*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (as root: $0; or with sudo where it is installed)"
}

# The berth binary to drive: $BERTH_BIN, else this workspace's release build,
# else `berth` on PATH.
berth_binary() {
    if [ -n "${BERTH_BIN:-}" ]; then
        echo "$BERTH_BIN"
    elif [ -x "$repo_dir/target/release/berth" ]; then
        echo "$repo_dir/target/release/berth"
    else
        command -v berth || die "no berth binary: build it (cargo build --release -p berth), set BERTH_BIN or pass --berth"
    fi
}

# sudo resets PATH, which drops rustup's ~/.cargo/bin: look there for root and
# for the user who ran sudo.
cargo_on_path() {
    command -v cargo >/dev/null && return 0
    local home
    for home in "$HOME" /root ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)"}; do
        if [ -x "$home/.cargo/bin/cargo" ]; then
            PATH="$home/.cargo/bin:$PATH"
            export PATH
            return 0
        fi
    done
    die "cargo not found: install a Rust toolchain (at least the rust-version in Cargo.toml)"
}

# docker_import TAR TAG CMD_JSON: import TAR into dockerd as TAG. Each import
# makes a new image id (it records the import time), so the one TAG pointed to
# before is removed, unless a container still uses it: reruns leave nothing dangling.
docker_import() {
    local tar=$1 tag=$2 cmd=$3 old_id
    old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    docker import -c "CMD $cmd" "$tar" "$tag" >/dev/null \
        || die "docker import of $tar as $tag failed (is dockerd running? scripts/start-dockerd.sh)"
    [ -z "$old_id" ] || docker rmi "$old_id" >/dev/null 2>&1 || true
}

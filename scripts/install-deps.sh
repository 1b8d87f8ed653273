#!/usr/bin/env bash
# Installs, from Debian's archive, everything berth and its tests need on a fresh
# Debian 12 machine: the OCI runtime and helpers berth drives (runc, tini, CNI
# plugins, iptables), the tools that make test images (busybox-static,
# debootstrap), the reference engine the tests compare against (docker.io), and
# the small utilities the scripts use. Only missing packages are installed, and
# `apt-get update` runs at most once, so a second run is a quick no-op.
#
#   scripts/install-deps.sh [--with-bench]
#
# --with-bench also installs podman and what rootful podman needs here, for
# bench/compare.sh, and libseccomp-dev for bench/seccomp.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

with_bench=false
for arg in "$@"; do
    case "$arg" in
        --with-bench) with_bench=true ;;
        -h|--help) echo "usage: $0 [--with-bench]"; exit 0 ;;
        *) die "unknown argument: $arg (usage: $0 [--with-bench])" ;;
    esac
done

require_root
command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian 12"

packages=(
    # what berth runs containers with (crun: `--runtime crun`, and the test of
    # the seccomp programs berth hands it precompiled)
    runc crun tini containernetworking-plugins iptables kmod
    # networks and published ports (berth-network drives netavark + aardvark-dns)
    netavark aardvark-dns iproute2
    # images for tests and the demo
    busybox-static debootstrap tar xz-utils
    # the reference engine (also brings containerd), and Docker's own tools
    # that the tests drive against `berth serve`
    docker.io docker-compose
    # storage scenarios: NFS-backed binds, xattr checks, sized volumes and
    # reflink clones on a btrfs filesystem the tests make on a loop device
    nfs-kernel-server e2fsprogs attr btrfs-progs
    # network storage through Docker's volume plugin protocol: rclone serves
    # WebDAV on loopback and is the plugin (`rclone serve docker`, FUSE)
    rclone fuse3
    # the scripts' own tools (`script` lives in bsdutils)
    curl ca-certificates python3 jq hyperfine util-linux bsdutils procps
    # Testcontainers (Python) runs from a virtualenv of its own (below)
    python3-venv
    # rusqlite's bundled SQLite is compiled with the system C compiler
    gcc libc6-dev make pkg-config
    # registries: OpenSSL for TLS (native-tls), and the tests' registry, CA and htpasswd
    libssl-dev openssl docker-registry apache2-utils
    # rootless berth: the user namespace from /etc/subuid (newuidmap/newgidmap),
    # pasta for a rootless container's network and published ports, and
    # slirp4netns, berth's fallback where pasta is missing
    uidmap passt slirp4netns
    # `berth cri`: the CRI's gRPC code is generated from cri-api's proto at build time
    protobuf-compiler
    # the network tests read berth's nftables rules with `nft` (berth itself speaks netlink)
    nftables
)
if $with_bench; then
    packages+=(podman uidmap slirp4netns fuse-overlayfs conmon golang-github-containers-common)
    # bench/seccomp.sh times libseccomp itself (bench/seccomp-compile.c)
    packages+=(libseccomp-dev)
    # bench/runpath.sh reads CPU time per run with perf stat
    packages+=(linux-perf)
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [ "${status:0:2}" = "ii" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp /tmp/install-deps.XXXXXX.log)
    echo "install-deps: installing ${missing[*]} (log: $log)"
    apt-get update >"$log" 2>&1 || { cat "$log" >&2; die "apt-get update failed"; }
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
        || { tail -n 40 "$log" >&2; die "apt-get install failed (full log: $log)"; }
    rm -f "$log"
fi

# berth needs overlayfs; it may be a module or built into the kernel (then
# modprobe has nothing to load and /proc/filesystems already lists it).
if ! grep -qw overlay /proc/filesystems; then
    modprobe overlay 2>/dev/null || true
    grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem (modprobe overlay failed)"
fi

# Rootless berth's network (pasta) opens /dev/net/tun as the user. udev makes
# it 0666 on Debian; a machine without udev (this VM's devtmpfs) has 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
    chmod 0666 /dev/net/tun
fi

# Testcontainers for Python, pinned, in /opt/berth-testcontainers (PyPI):
# crates/api/tests/testcontainers.rs drives it against `berth serve`.
# Without it only that test cannot run (it says why); every other test still can.
"$(dirname "${BASH_SOURCE[0]}")/testcontainers-venv.sh" \
    || echo "install-deps: warning: no Testcontainers venv; crates/api/tests/testcontainers.rs will say why" >&2

cargo_on_path

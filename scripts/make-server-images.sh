#!/usr/bin/env bash
# Builds the seeds' server images with `berth build` from the Dockerfiles in
# images/: nginx (nginx:latest) and PostgreSQL (postgres:15, postgres:latest),
# both FROM the Debian base image debian:bookworm, which is made first with
# scripts/make-debian-image.sh unless berth already has it. The RUN steps
# apt-get from the Debian mirror the image's sources name, so the build needs
# the network (RUN containers use the default bridge, NATed to the host's).
# Times on a 2-core machine: debootstrap ~1-2 min, nginx ~1 min, postgres ~1-2 min;
# a rerun with everything cached takes well under a second per image.
#
# usage: scripts/make-server-images.sh [--berth PATH] [--root DIR] [--debian-tar TAR]
#            [--no-cache] [--only nginx|postgres]
#
#   --berth PATH       berth binary (default: $BERTH_BIN, else target/release/berth, else `berth`)
#   --root DIR         berth's --root (default: berth's own default)
#   --debian-tar TAR   import the base image from TAR (made by make-debian-image.sh --out);
#                      when TAR does not exist, debootstrap writes it there for next time
#   --no-cache         pass --no-cache to berth build
#   --only NAME        build only nginx or only postgres
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

berth=""
root_dir=""
debian_tar=""
build_flags=()
only=""

while [ $# -gt 0 ]; do
    case "$1" in
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        --root) root_dir=${2:?--root needs a directory}; shift 2 ;;
        --debian-tar) debian_tar=${2:?--debian-tar needs a file}; shift 2 ;;
        --no-cache) build_flags+=(--no-cache); shift ;;
        --only) only=${2:?--only needs nginx or postgres}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
case "$only" in ""|nginx|postgres) ;; *) die "--only takes nginx or postgres, not $only" ;; esac

require_root
[ -n "$berth" ] || berth=$(berth_binary)
root_args=()
[ -z "$root_dir" ] || root_args=(--root "$root_dir")
b() { "$berth" "${root_args[@]}" "$@"; }

if ! b image inspect debian:bookworm >/dev/null 2>&1; then
    if [ -n "$debian_tar" ] && [ -s "$debian_tar" ]; then
        echo "importing debian:bookworm from $debian_tar"
        b import -c 'CMD ["bash"]' "$debian_tar" debian:bookworm >/dev/null
    else
        echo "making debian:bookworm with debootstrap"
        debian_args=(--berth "$berth" --tag debian:bookworm)
        [ -z "$root_dir" ] || debian_args+=(--root "$root_dir")
        [ -z "$debian_tar" ] || debian_args+=(--out "$debian_tar")
        "$repo_dir/scripts/make-debian-image.sh" "${debian_args[@]}"
    fi
fi

build_image() {
    local name=$1; shift
    local start=$SECONDS
    echo "building $name from images/$name"
    b build "${build_flags[@]}" "$@" "$repo_dir/images/$name"
    echo "built $name in $((SECONDS - start))s"
}

if [ -z "$only" ] || [ "$only" = nginx ]; then
    build_image nginx -t nginx:latest
fi
if [ -z "$only" ] || [ "$only" = postgres ]; then
    build_image postgres -t postgres:15 -t postgres:latest
fi

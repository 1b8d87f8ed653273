#!/usr/bin/env bash
# Builds the starter image every test, demo and benchmark uses: a minimal root
# filesystem made from Debian's busybox-static (the binary plus one symlink per
# applet, a passwd/group with root and nobody, the usual top-level directories),
# packed into a reproducible tar (sorted entries, fixed mtime, numeric owners) so
# that berth, docker and podman can all import the very same bytes.
#
# usage: scripts/make-busybox-image.sh [--berth PATH] [--root DIR] [--tag REPO[:TAG]]
#            [--out TAR] [--no-import] [--docker] [--with-user NAME[:UID]]
#
#   --berth PATH     berth binary (default: $BERTH_BIN, else target/release/berth, else `berth`)
#   --root DIR       berth's --root (default: berth's own default, /var/lib/berth)
#   --tag REF        image reference (default busybox:latest)
#   --out TAR        keep the tar at TAR (default: a temporary file)
#   --no-import      do not import into berth
#   --docker         also `docker import` the tar into dockerd under the same tag
#   --with-user N[:U] add user and group N with id U (default 70, alpine's postgres)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

berth=""
root_dir=""
tag="busybox:latest"
out=""
import_berth=true
import_docker=false
extra_user=""

while [ $# -gt 0 ]; do
    case "$1" in
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        --root) root_dir=${2:?--root needs a directory}; shift 2 ;;
        --tag) tag=${2:?--tag needs a reference}; shift 2 ;;
        --out) out=${2:?--out needs a file}; shift 2 ;;
        --no-import) import_berth=false; shift ;;
        --docker) import_docker=true; shift ;;
        --with-user) extra_user=${2:?--with-user needs NAME[:UID]}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

busybox=/bin/busybox
dpkg -S "$busybox" 2>/dev/null | grep -q '^busybox-static:' \
    || die "$busybox is not Debian's busybox-static (run scripts/install-deps.sh)"

if $import_berth && [ -z "$berth" ]; then
    berth=$(berth_binary)
fi

work=$(mktemp -d /tmp/busybox-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
umask 022

mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,home,var/www,tmp,root}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"
install -m 755 "$busybox" "$rootfs/bin/busybox"
while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$rootfs/$(dirname "$applet")"
    ln -sfn /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
if [ -n "$extra_user" ]; then
    user_name=${extra_user%%:*}
    user_id=70
    [ "$user_name" = "$extra_user" ] || user_id=${extra_user#*:}
    [[ "$user_name" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "bad user name: $user_name"
    [[ "$user_id" =~ ^[0-9]+$ ]] || die "bad user id: $user_id"
    echo "$user_name:x:$user_id:$user_id:$user_name:/home/$user_name:/bin/sh" >>"$rootfs/etc/passwd"
    echo "$user_name:x:$user_id:" >>"$rootfs/etc/group"
    mkdir -p "$rootfs/home/$user_name"
    chown "$user_id:$user_id" "$rootfs/home/$user_name" 2>/dev/null \
        || die "--with-user needs root (to chown /home/$user_name)"
fi

# Same bytes on every run: entries sorted, one fixed mtime, numeric owners taken
# from the files themselves (all root, except a --with-user home directory).
tar_file=${out:-$work/image.tar}
[ -z "$out" ] || mkdir -p "$(dirname "$out")"
owner_args=()
[ "$(id -u)" -eq 0 ] || owner_args=(--owner=0 --group=0)
(cd "$rootfs" && LC_ALL=C tar --sort=name --mtime="@${SOURCE_DATE_EPOCH:-0}" --numeric-owner \
    "${owner_args[@]}" --format=gnu -cf "$tar_file.partial" -- *)
mv -f "$tar_file.partial" "$tar_file"

if $import_berth; then
    root_args=()
    [ -z "$root_dir" ] || root_args=(--root "$root_dir")
    "$berth" "${root_args[@]}" import -c 'CMD ["sh"]' "$tar_file" "$tag" >/dev/null \
        || die "berth import of $tar_file as $tag failed"
fi
if $import_docker; then
    docker_import "$tar_file" "$tag" '["sh"]'
fi

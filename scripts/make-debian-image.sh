#!/usr/bin/env bash
# Builds a Debian bookworm image with debootstrap, from the Debian mirror this
# machine's own apt sources already use (so no host name lives in the repo),
# and imports it into berth. Takes a few minutes; CI does not run it.
#
# usage: scripts/make-debian-image.sh [--berth PATH] [--root DIR] [--tag REF]
#            [--variant VARIANT] [--out TAR] [--no-import] [--docker]
#
#   --berth PATH      berth binary (default: $BERTH_BIN, else target/release/berth, else `berth`)
#   --root DIR        berth's --root (default: berth's own default)
#   --tag REF         image reference (default debian:bookworm)
#   --variant V       debootstrap variant (default minbase)
#   --out TAR         keep the tar at TAR (default: a temporary file)
#   --no-import       do not import into berth
#   --docker          also `docker import` the tar into dockerd under the same tag
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

suite=bookworm
berth=""
root_dir=""
tag="debian:$suite"
variant=minbase
out=""
import_berth=true
import_docker=false

while [ $# -gt 0 ]; do
    case "$1" in
        --berth) berth=${2:?--berth needs a path}; shift 2 ;;
        --root) root_dir=${2:?--root needs a directory}; shift 2 ;;
        --tag) tag=${2:?--tag needs a reference}; shift 2 ;;
        --variant) variant=${2:?--variant needs a name}; shift 2 ;;
        --out) out=${2:?--out needs a file}; shift 2 ;;
        --no-import) import_berth=false; shift ;;
        --docker) import_docker=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

require_root
command -v debootstrap >/dev/null || die "debootstrap not found (run scripts/install-deps.sh)"

if $import_berth && [ -z "$berth" ]; then
    berth=$(berth_binary)
fi

# The first URI of a `deb` source for $suite with the main component, from the
# one-line (*.list) or deb822 (*.sources) files, in apt's own reading order.
mirror=$(python3 - "$suite" <<'PY'
import glob, sys

suite = sys.argv[1]
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
    + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))

def one_line(text):
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] != ["deb"]:
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3 and words[1] == suite and "main" in words[2:]:
            yield words[0]

def deb822(text):
    for stanza in text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split() \
                and "main" in fields.get("components", "").split():
            yield from fields.get("uris", "").split()

for path in files:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        continue
    for uri in (deb822 if path.endswith(".sources") else one_line)(text):
        print(uri)
        sys.exit(0)
sys.exit(1)
PY
) || die "no 'deb ... $suite main' source in /etc/apt/sources.list{,.d/*}"

work=$(mktemp -d /var/tmp/debian-image.XXXXXX)
rootfs="$work/rootfs"
cleanup() {
    # debootstrap mounts /proc and /sys inside the target; never rm -rf through a mount.
    if findmnt -rno TARGET | grep -q "^$rootfs/"; then
        findmnt -rno TARGET | grep "^$rootfs/" | sort -r | xargs -r umount -l
    fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

log="$work/debootstrap.log"
debootstrap --variant="$variant" "$suite" "$rootfs" "$mirror" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "debootstrap failed"; }

# What an image should not carry: package indexes and caches, the build host's
# name and resolver (the engine provides both at run time), device nodes (the
# engine mounts its own /dev).
rm -rf "${rootfs:?}"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/bootstrap.log "${rootfs:?}"/dev/* "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
mkdir -p "$rootfs/var/lib/apt/lists/partial"

tar_file=${out:-$work/image.tar}
[ -z "$out" ] || mkdir -p "$(dirname "$out")"
(cd "$rootfs" && LC_ALL=C tar --sort=name --numeric-owner --xattrs --xattrs-include='*' \
    -cf "$tar_file.partial" -- *)
mv -f "$tar_file.partial" "$tar_file"

if $import_berth; then
    root_args=()
    [ -z "$root_dir" ] || root_args=(--root "$root_dir")
    "$berth" "${root_args[@]}" import -c 'CMD ["bash"]' "$tar_file" "$tag" >/dev/null \
        || die "berth import of $tar_file as $tag failed"
fi
if $import_docker; then
    docker_import "$tar_file" "$tag" '["bash"]'
fi

#!/usr/bin/env bash
# Runs berth's cgroup tests on a pure cgroup v2 machine: a QEMU guest (Debian
# 12's kernel) whose root is this host's root, shared read-only over 9p under a
# tmpfs overlay, with ONLY cgroup2 mounted at /sys/fs/cgroup (every controller
# on v2). The guest runs the release test binaries of this workspace against
# this workspace's release berth, writes their output to a shared directory and
# powers off. README: "Pure cgroup v2".
#
#   scripts/cgroup-v2-vm.sh [CARGO_TEST_FILTER...]
#
# Environment:
#   BERTH_V2VM_CACHE   where the kernel, initramfs and results go
#                      (default /var/cache/berth-cgroup-v2-vm)
#   BERTH_V2VM_ACCEL   kvm, tcg or auto (default: auto = KVM when a probe guest
#                      boots within 60 s, else TCG)
#   BERTH_V2VM_TESTS   the test binaries to run, as "crate:test" words
#                      (default: the cgroup-related ones, below)
#   BERTH_V2VM_TIMEOUT seconds the guest may run (default 3600)
# Exits 0 with "skipped: ..." when no guest can run here; otherwise with the
# guest's test status (non-zero when a test failed or the guest did not finish).
set -euo pipefail
main() { # (read whole before it runs: editing the file cannot change a run)
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
cargo_on_path
cd "$repo_dir"

cache=${BERTH_V2VM_CACHE:-/var/cache/berth-cgroup-v2-vm}
timeout_s=${BERTH_V2VM_TIMEOUT:-3600}
tests=${BERTH_V2VM_TESTS:-"berth:resources berth:containers berth:docker_defaults berth:run_flags berth-api:resources"}
mkdir -p "$cache"

skip() { echo "cgroup-v2-vm: skipped: $*"; exit 0; }

# --- what the host needs -----------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx switch_root || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
        || skip "cannot install ${need[*]}"
fi
busybox=$(command -v busybox)
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is not static (apt-get install busybox-static)"

# --- the guest's kernel: Debian's, with its modules ---------------------------
kdir="$cache/kernel"
if [ ! -f "$kdir/vmlinux" ]; then
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$pkg" ] || skip "no linux-image-amd64 in apt's lists"
    rm -rf "$kdir" && mkdir -p "$kdir/deb"
    (cd "$kdir/deb" && apt-get download "$pkg" >/dev/null 2>&1) || skip "cannot download $pkg"
    dpkg -x "$kdir"/deb/*.deb "$kdir/root"
    rm -rf "$kdir/deb"
    kver=$(ls "$kdir/root/lib/modules")
    depmod -b "$kdir/root" "$kver"
    # The uncompressed ELF kernel boots directly (PVH): no BIOS, no decompressor.
    python3 - "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinux" <<'EOF'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
at = data.find(b'\xfd7zXZ\x00')
while at >= 0:
    try:
        out = lzma.LZMADecompressor().decompress(data[at:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out)
            sys.exit(0)
    except lzma.LZMAError:
        pass
    at = data.find(b'\xfd7zXZ\x00', at + 1)
sys.exit("no xz-compressed ELF kernel in " + sys.argv[1])
EOF
fi
kver=$(ls "$kdir/root/lib/modules")
mods="$kdir/root/lib/modules/$kver"

# --- the initramfs: busybox, the modules to reach the 9p root, /init ----------
initrd="$cache/initrd-$kver.gz"
if [ ! -f "$initrd" ]; then
    ird=$(mktemp -d)
    mkdir -p "$ird"/{bin,proc,sys,dev,newroot,lower,upper,out,modules,lib/modules}
    cp "$busybox" "$ird/bin/busybox"
    # The modules to reach the root, each after what it needs (modules.dep).
    python3 - "$mods" virtio_pci 9pnet_virtio 9p overlay >"$ird/modules.order" <<'PY'
import os, sys
name = lambda path: os.path.basename(path).split(".ko")[0]
deps = {}
for line in open(os.path.join(sys.argv[1], "modules.dep")):
    mod, _, needs = line.partition(":")
    deps[name(mod)] = (mod, [name(n) for n in needs.split()])
done = []
def add(module):
    if module not in done:
        for need in deps[module][1]:
            add(need)
        done.append(module)
for module in sys.argv[2:]:
    add(module)
print("\n".join(deps[m][0] for m in done))
PY
    while read -r m; do cp "$mods/$m" "$ird/lib/modules/"; done <"$ird/modules.order"
    cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/lib/modules/${m##*/}"; done </modules.order
opts=trans=virtio,version=9p2000.L,msize=512000,cache=loose
mount -t 9p -o $opts,ro hostroot /lower || { echo "v2vm: 9p root failed"; poweroff -f; }
mount -t tmpfs -o size=75% tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w,redirect_dir=on overlay /newroot \
    || { echo "v2vm: overlay root failed"; poweroff -f; }
mkdir -p /newroot/v2vm/out /newroot/lib/modules
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/v2vm/out
mount -t 9p -o $opts,ro modules /newroot/lib/modules
exec switch_root /newroot /bin/bash /v2vm/out/guest.sh
EOF
    chmod +x "$ird/init"
    (cd "$ird" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$ird"
fi

# --- accelerator: KVM when a guest boots under it, else TCG --------------------
accel=${BERTH_V2VM_ACCEL:-auto}
out="$cache/out"
rm -rf "$out" && mkdir -p "$out"
qemu() { # qemu TIMEOUT ACCEL MEMORY_MB CPUS
    timeout "$1" qemu-system-x86_64 -accel "$2" -cpu max -M pc -m "$3" -smp "$4" \
        -display none -no-reboot -serial "file:$out/console.log" \
        -kernel "$kdir/vmlinux" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 quiet" \
        -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$mods/..,mount_tag=modules,security_model=none,readonly=on" \
        -virtfs "local,path=$out,mount_tag=out,security_model=none" >"$out/qemu.log" 2>&1
}
if [ "$accel" = auto ]; then
    accel=tcg
    probe="$cache/kvm-probe-$(uname -r)"
    if [ -w /dev/kvm ] && [ ! -f "$probe" ]; then
        printf '#!/bin/bash\necho kvm-ok >/v2vm/out/probe\necho o >/proc/sysrq-trigger\n' >"$out/guest.sh"
        qemu 60 kvm 512 1 || true
        if [ -f "$out/probe" ]; then echo kvm >"$probe"; else echo tcg >"$probe"; fi
    fi
    [ -f "$probe" ] && accel=$(cat "$probe")
fi
case "$accel" in
kvm) [ -w /dev/kvm ] || skip "no usable /dev/kvm" ;;
tcg) ;;
*) die "BERTH_V2VM_ACCEL: kvm, tcg or auto" ;;
esac

# --- what the guest runs: the release berth and test binaries -----------------
cargo build --release -p berth --quiet
[ -f target/busybox.tar ] || "$repo_dir/scripts/make-busybox-image.sh" --no-import --out target/busybox.tar
binaries=()
for t in $tests; do
    path=$(cargo test --release -p "${t%%:*}" --test "${t#*:}" --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])' | tail -1)
    [ -n "$path" ] || die "no test binary for $t"
    binaries+=("$path")
done

filters=""
[ $# -eq 0 ] || filters=$(printf '%q ' "$@")
{
    echo '#!/bin/bash'
    echo 'exec >/v2vm/out/guest.log 2>&1'
    echo 'set -x'
    echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev'
    # The point of it all: cgroup2 alone, no v1 hierarchy.
    echo 'mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup'
    # As systemd does on a v2 host: every controller for the root's children.
    echo 'for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo +$c >/sys/fs/cgroup/cgroup.subtree_control; done'
    echo 'mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run; mkdir -p /dev/pts /dev/shm /var/tmp'
    echo 'mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts; ln -sf pts/ptmx /dev/ptmx'
    echo 'mount -t tmpfs tmpfs /dev/shm; mkdir -p /dev/mqueue; mount -t mqueue mqueue /dev/mqueue'
    echo 'ln -s /proc/self/fd /dev/fd; for i in 0 1 2; do ln -s /proc/self/fd/$i /dev/$(echo stdin stdout stderr | cut -d" " -f$((i + 1))); done'
    echo 'mount -t tmpfs tmpfs /var/tmp; mount -t debugfs none /sys/kernel/debug 2>/dev/null'
    echo 'ip link set lo up; hostname v2vm'
    echo 'mount | grep cgroup; cat /sys/fs/cgroup/cgroup.subtree_control; uname -a; nproc; free -m'
    echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
    echo "export BERTH_BIN=$repo_dir/target/release/berth BERTH_BUSYBOX_TAR=$repo_dir/target/busybox.tar"
    echo "export RUST_BACKTRACE=1"
    echo 'set +x; status=0'
    for b in "${binaries[@]}"; do
        echo "echo \"=== $b\"; start=\$(date +%s)"
        echo "$b --test-threads=2 $filters >/v2vm/out/$(basename "$b").log 2>&1 || status=1"
        echo "echo \"=== $(basename "$b"): \$(grep -E '^test result' /v2vm/out/$(basename "$b").log) (\$((\$(date +%s) - start)) s)\""
    done
    echo 'echo $status >/v2vm/out/status; sync; echo o >/proc/sysrq-trigger'
} >"$out/guest.sh"

echo "cgroup-v2-vm: booting a $accel guest (kernel $kver); logs in $out"
start=$(date +%s)
qemu "$timeout_s" "$accel" 4096 "$(nproc)" || true
echo "cgroup-v2-vm: guest ran $(($(date +%s) - start)) s"
grep '^===' "$out/guest.log" 2>/dev/null || true
[ -f "$out/status" ] || die "the guest did not finish (see $out/console.log, $out/guest.log)"
exit "$(cat "$out/status")"
}
main "$@"

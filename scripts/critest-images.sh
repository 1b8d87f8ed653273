#!/bin/bash
# Builds the images critest (kubernetes-sigs/cri-tools) needs, under their
# exact names, from Debian's busybox-static and (for the default test image)
# Debian's dynamic busybox: no image is downloaded (the busybox package is
# fetched with `apt-get download`, never installed).
#
#   scripts/critest-images.sh [--builder "berth --root R"] [--push HOST:PORT]
#
# --builder: the docker-grammar CLI that builds and pushes (default: berth).
# --push:    also push each image to a (loopback) registry as
#            HOST:PORT/<path>, e.g. 127.0.0.1:5000/e2e-test-images/busybox:1.29-2,
#            for the Image Manager specs (serve it with Debian's docker-registry
#            and point the runtime's mirrors for registry.k8s.io and gcr.io at
#            it: berth's daemon.json
#            {"registry-host-mirrors": {"gcr.io": ["http://HOST:PORT"],
#                                       "registry.k8s.io": ["http://HOST:PORT"]}}).
#
# What each image must offer (from cri-tools' specs):
#   pause:3.9                 waits until stopped (berth cri's default --pause-image)
#   busybox:1.29-2            sh and the busybox applets (with pgrep and ipcs -m, which
#                             Debian's busybox lacks), /etc/passwd with nobody and www-data;
#                             a shell that runs `ls` from PATH (the MaskedPaths spec masks
#                             /bin/ls and expects `sh -c ls` to fail): Debian's dynamic
#                             busybox and its libraries, as busybox-static's shell runs
#                             its own applets without looking at /bin/ls
#   nginx:1.14-2              HTTP 200 on port 80; a process named nginx whose pid is in
#                             /var/run/nginx.pid and whose command line says "master process"
#                             (the host/pod/container PID specs)
#   httpd:2.4.39-4            HTTP 200 on port 80, echo, "httpd" in its log (multi-container spec)
#   nonewprivs:1.3            a setuid-root program printing "Effective uid: N" (needs gcc and
#                             a static libc; skipped without them)
#   hostnet-nginx-amd64       HTTP 200 on port 12003 (host network specs)
#   test-image-predefined-group  USER 1000, user default-user in group 50000 (group-defined-in-image)
#   test-image-{latest,tag:test,tag:all,1,2,3,tags:1..3,user-*}  the Image Manager specs' pulls
set -euo pipefail

BUILDER=berth
PUSH=
while [ $# -gt 0 ]; do
    case "$1" in
    --builder) BUILDER=$2; shift 2 ;;
    --push) PUSH=$2; shift 2 ;;
    *) echo "usage: $0 [--builder CMD] [--push HOST:PORT]" >&2; exit 2 ;;
    esac
done
BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q static; then
    BUSYBOX=/bin/busybox
fi
[ -x "$BUSYBOX" ] || { echo "needs Debian's busybox-static (apt-get install busybox-static)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Debian's dynamic busybox (package busybox, which conflicts with
# busybox-static: downloaded and unpacked here, not installed).
DYNAMIC=
if (cd "$WORK" && apt-get download busybox >/dev/null 2>&1) &&
    dpkg-deb -x "$WORK"/busybox_*.deb "$WORK/dynamic"; then
    DYNAMIC=$WORK/dynamic/bin/busybox
else
    echo "apt-get download busybox failed: busybox:1.29-2 gets busybox-static (the MaskedPaths spec will fail)" >&2
fi

E2E=registry.k8s.io/e2e-test-images
CRI=gcr.io/k8s-staging-cri-tools

# A busybox root: the binary (BUSYBOX, or the one given, with the shared
# libraries it loads), its applets as links, the usual files.
base_root() {
    local root=$1 bb=${2:-$BUSYBOX}
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/run,var/www,home,proc,sys,dev}
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    local lib
    for lib in $(ldd "$bb" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
    done
    "$bb" --list-full | while read -r applet; do
        [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$root/$applet"
    done
    # busybox's image has hard links: a symlink /bin/ls would take busybox
    # itself along when a spec masks /bin/ls. A copy (berth's COPY stores
    # hard links as copies: every applet one would cost 2 MB).
    rm "$root/bin/ls" && cp "$bb" "$root/bin/ls"
    cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
    cat >"$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
www-data:x:33:
users:x:100:
nogroup:x:65534:
G
    # busybox's pgrep and `ipcs -m`, which Debian's builds leave out (no
    # applet link to write through: the links point at the host's busybox).
    rm -f "$root/bin/pgrep" "$root/bin/ipcs"
    cat >"$root/bin/pgrep" <<'S'
#!/bin/sh
# pgrep PATTERN: the pids whose name matches; 1 when none does.
found=1
for d in /proc/[0-9]*; do
    read -r comm <"$d/comm" 2>/dev/null || continue
    if echo "$comm" | grep -q -- "$1"; then echo "${d#/proc/}"; found=0; fi
done
exit $found
S
    cat >"$root/bin/ipcs" <<'S'
#!/bin/sh
# ipcs -m: the IPC namespace's shared memory segments.
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
awk 'NR > 1 { printf "%-10s %-10s %-10s %-10s %-10s %s\n", $1, $2, $8, $3, $4, $7 }' /proc/sysvipc/shm
S
    chmod 755 "$root/bin/pgrep" "$root/bin/ipcs"
}

# build NAME DIR [Dockerfile lines after FROM/COPY]
build() {
    local name=$1 root=$2
    shift 2
    local ctx=$WORK/ctx-$RANDOM
    mkdir -p "$ctx"
    mv "$root" "$ctx/rootfs"
    {
        echo "FROM scratch"
        echo "COPY rootfs/ /"
        printf '%s\n' "$@"
    } >"$ctx/Dockerfile"
    $BUILDER build -q -t "$name" "$ctx" >/dev/null
    echo "built $name"
    if [ -n "$PUSH" ]; then
        local target="$PUSH/${name#*/}"
        $BUILDER tag "$name" "$target"
        $BUILDER push "$target" >/dev/null
        echo "pushed $target"
    fi
}

# A web server: busybox httpd in the foreground under a shell named as the
# server (/usr/sbin/NAME: pidof finds it), whose pid is where nginx or
# apache keep theirs, which says it started in its log and whose command
# line reads "master process", as nginx's master rewrites its own.
web_root() {
    local root=$1 docroot=$2 page=$3 port=$4 pidfile=$5 name=$6
    base_root "$root"
    mkdir -p "$root$docroot" "$(dirname "$root$pidfile")"
    echo "$page" >"$root$docroot/index.html"
    cat >"$root/usr/sbin/$name" <<S
#!/bin/sh
echo \$\$ > $pidfile
echo "$name: serving $docroot on port $port" >&2
httpd -f -p $port -h $docroot &
trap 'kill \$!; exit 0' TERM INT QUIT
wait
S
    chmod 755 "$root/usr/sbin/$name"
}

r=$WORK/r; base_root "$r" "${DYNAMIC:-$BUSYBOX}"; build "$E2E/busybox:1.29-2" "$r" 'CMD ["sh"]'

# berth cri's default pause image: waits until stopped, running no `sleep`
# (a spec looks for its own sleep in the pod's shared PID namespace).
r=$WORK/r; base_root "$r"
build registry.k8s.io/pause:3.9 "$r" \
    'ENTRYPOINT ["sh", "-c", "trap \"exit 0\" TERM INT; tail -f /dev/null & wait"]'

r=$WORK/r; web_root "$r" /usr/share/nginx/html "<h1>Welcome to nginx!</h1>" 80 /var/run/nginx.pid nginx
build "$E2E/nginx:1.14-2" "$r" 'EXPOSE 80' 'CMD ["/usr/sbin/nginx", "master process"]'

r=$WORK/r; web_root "$r" /usr/local/apache2/htdocs "<html><body><h1>It works!</h1></body></html>" 80 /usr/local/apache2/logs/httpd.pid httpd-foreground
build "$E2E/httpd:2.4.39-4" "$r" 'EXPOSE 80' 'CMD ["/usr/sbin/httpd-foreground"]'

r=$WORK/r; web_root "$r" /usr/share/nginx/html "<h1>Welcome to nginx!</h1>" 12003 /var/run/nginx.pid nginx
build "$CRI/hostnet-nginx-amd64" "$r" 'EXPOSE 12003' 'CMD ["/usr/sbin/nginx", "master process"]'

# Kubernetes' nonewprivs test image: a setuid-root program that prints its
# effective uid (0 unless no_new_privs stops the setuid).
if command -v gcc >/dev/null && echo 'int main(void){return 0;}' | gcc -static -x c -o /dev/null - 2>/dev/null; then
    r=$WORK/r; base_root "$r"
    mkdir -p "$r/usr/local/bin"
    printf '%s\n' '#include <stdio.h>' '#include <unistd.h>' \
        'int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }' |
        gcc -static -O2 -x c -o "$r/usr/local/bin/nnp" -
    chmod 4755 "$r/usr/local/bin/nnp"
    build "$E2E/nonewprivs:1.3" "$r" 'CMD ["/usr/local/bin/nnp"]'
else
    echo "no gcc with a static libc: $E2E/nonewprivs:1.3 not built" >&2
fi

r=$WORK/r; base_root "$r"
echo "default-user:x:1000:1000::/home/default-user:/bin/sh" >>"$r/etc/passwd"
echo "default-user:x:1000:" >>"$r/etc/group"
echo "group-defined-in-image:x:50000:default-user" >>"$r/etc/group"
mkdir -p "$r/home/default-user" && chown 1000:1000 "$r/home/default-user"
build "$CRI/test-image-predefined-group" "$r" 'USER 1000' 'CMD ["sh"]'

# The Image Manager specs: distinct images (each holds a file of its own name).
for name in test-image-latest test-image-tag:test test-image-tag:all \
    test-image-1:latest test-image-2:latest test-image-3:latest; do
    r=$WORK/r; base_root "$r"; echo "$name" >"$r/${name%%:*}"
    build "$CRI/$name" "$r" 'CMD ["sh"]'
done
# One image under three tags.
r=$WORK/r; base_root "$r"; echo tags >"$r/test-image-tags"
build "$CRI/test-image-tags:1" "$r" 'CMD ["sh"]'
for t in 2 3; do
    $BUILDER tag "$CRI/test-image-tags:1" "$CRI/test-image-tags:$t"
    if [ -n "$PUSH" ]; then
        $BUILDER tag "$CRI/test-image-tags:1" "$PUSH/k8s-staging-cri-tools/test-image-tags:$t"
        $BUILDER push "$PUSH/k8s-staging-cri-tools/test-image-tags:$t" >/dev/null
    fi
done
for spec in "test-image-user-uid 1002" "test-image-user-username www-data" \
    "test-image-user-uid-group 1003:users" "test-image-user-username-group www-data:www-data"; do
    set -- $spec
    r=$WORK/r; base_root "$r"
    build "$CRI/$1" "$r" "USER $2" 'CMD ["sh"]'
done

#!/bin/bash
# Builds the images critest (kubernetes-sigs/cri-tools) needs, under their
# exact names, from Debian's busybox-static: no image is downloaded.
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
#   busybox:1.29-2            sh and the busybox applets, /etc/passwd with nobody and www-data
#   nginx:1.14-2              HTTP 200 on port 80, its pid in /var/run/nginx.pid (hostPID spec)
#   httpd:2.4.39-4            HTTP 200 on port 80, echo
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

E2E=registry.k8s.io/e2e-test-images
CRI=gcr.io/k8s-staging-cri-tools

# A busybox root: the binary, its applets as links, the usual files.
base_root() {
    local root=$1
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/run,var/www,home,proc,sys,dev}
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX" "$root/bin/busybox"
    "$BUSYBOX" --list-full | while read -r applet; do
        [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$root/$applet"
    done
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

# A web server: busybox httpd in the foreground, its pid where nginx or
# apache keep theirs, and a first line of log as the real server's (the
# multi-container spec looks for "httpd" in the httpd container's log).
web_root() {
    local root=$1 docroot=$2 page=$3 port=$4 pidfile=$5 greeting=${6:-}
    base_root "$root"
    mkdir -p "$root$docroot" "$(dirname "$root$pidfile")"
    echo "$page" >"$root$docroot/index.html"
    local greet=
    [ -z "$greeting" ] || greet="echo '$greeting' >&2"
    cat >"$root/serve" <<S
#!/bin/sh
echo \$\$ > $pidfile
$greet
exec httpd -f -p $port -h $docroot
S
    chmod 755 "$root/serve"
}

r=$WORK/r; base_root "$r"; build "$E2E/busybox:1.29-2" "$r" 'CMD ["sh"]'

r=$WORK/r; web_root "$r" /usr/share/nginx/html "<h1>Welcome to nginx!</h1>" 80 /var/run/nginx.pid
build "$E2E/nginx:1.14-2" "$r" 'EXPOSE 80' 'CMD ["/serve"]'

r=$WORK/r; web_root "$r" /usr/local/apache2/htdocs "<html><body><h1>It works!</h1></body></html>" 80 /usr/local/apache2/logs/httpd.pid \
    "AH00558: httpd: Could not reliably determine the fully qualified domain name of this server"
build "$E2E/httpd:2.4.39-4" "$r" 'EXPOSE 80' 'CMD ["/serve"]'

r=$WORK/r; web_root "$r" /usr/share/nginx/html "<h1>Welcome to nginx!</h1>" 12003 /var/run/nginx.pid
build "$CRI/hostnet-nginx-amd64" "$r" 'EXPOSE 12003' 'CMD ["/serve"]'

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

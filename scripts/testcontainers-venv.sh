#!/usr/bin/env bash
# Makes the Python virtualenv that crates/api/tests/testcontainers.rs drives
# Testcontainers from: /opt/berth-testcontainers (or $1) with the pinned
# testcontainers and httpx (its generic ServerContainer's client) from PyPI,
# on Debian's python3 (python3-venv). A quick no-op when they are there.
#
# usage: scripts/testcontainers-venv.sh [DIR]
#
# Exits 3 (nothing left half-made) when the packages cannot be installed:
# PyPI cannot be reached. Any other failure exits 1.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv=${1:-/opt/berth-testcontainers}
pins=("testcontainers==4.15.0" "httpx==0.28.1")

installed() {
    "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
}

installed && exit 0
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing (apt-get install python3 python3-venv)"
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null \
    || die "Debian's python3 has no venv module (apt-get install python3-venv)"
new=false
[ -x "$venv/bin/python" ] || { /usr/bin/python3 -m venv "$venv"; new=true; }
log=$(mktemp /tmp/testcontainers-venv.XXXXXX.log)
if ! "$venv/bin/python" -m pip install --no-input "${pins[@]}" >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    rm -f "$log"
    $new && rm -rf "$venv"
    echo "${0##*/}: could not install ${pins[*]} into $venv (is PyPI reachable?)" >&2
    exit 3
fi
rm -f "$log"
installed || die "$venv does not have ${pins[*]} after installing them"

#!/bin/bash
# Runs an already-built critest (kubernetes-sigs/cri-tools; build it outside
# this repository, see shared/OUTSIDE-CLIENTS.md) against a CRI endpoint and
# prints passed/total per spec group (the words before the first "[" of a
# spec's description path: "[sig-node] Container", "[sig-node] Streaming"...).
#
#   scripts/critest-run.sh CRITEST ENDPOINT [OUT_DIR] [-- extra critest flags]
#
# ENDPOINT: unix:///run/berth/cri.sock. The images must be present (see
# scripts/critest-images.sh); the Image Manager specs pull theirs.
# OUT_DIR (default ./critest-out) gets the log and the JUnit report.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CRITEST ENDPOINT [OUT_DIR] [-- FLAGS]" >&2; exit 2; }
CRITEST=$1 ENDPOINT=$2
shift 2
OUT=./critest-out
if [ $# -gt 0 ] && [ "$1" != "--" ]; then OUT=$1; shift; fi
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
"$CRITEST" -runtime-endpoint "$ENDPOINT" -image-endpoint "$ENDPOINT" \
    -ginkgo.junit-report "$OUT/junit.xml" -ginkgo.no-color -ginkgo.timeout 2h "$@" \
    >"$OUT/critest.log" 2>&1
rc=$?
python3 - "$OUT/junit.xml" <<'PY'
import sys, collections, xml.etree.ElementTree as ET
GROUPS = ["Container Mount Propagation", "Container Mount Readonly", "Container OOM",
          "Multiple Containers [Conformance]", "Image Manager", "Runtime info", "Security Context",
          "AppArmor", "Container", "Idempotence", "Image", "Networking", "PodSandbox", "SELinux", "Streaming"]
groups = collections.OrderedDict()
failed = []
for case in ET.parse(sys.argv[1]).iter("testcase"):
    status = case.get("status") or ""
    if status == "skipped" or case.find("skipped") is not None:
        continue
    name = case.get("name", "")
    if not name.startswith("[It]"):
        continue
    # The spec's top-level Describe (critest's KubeDescribe names).
    rest = name.removeprefix("[It] ").removeprefix("[k8s.io] ").removeprefix("[sig-node] ")
    group = next((g for g in GROUPS if rest.startswith(g + " ")), rest.split(" ")[0])
    ok = case.find("failure") is None and case.find("error") is None
    p, t = groups.get(group, (0, 0))
    groups[group] = (p + ok, t + 1)
    if not ok:
        f = case.find("failure") if case.find("failure") is not None else case.find("error")
        failed.append((name, (f.get("message") or "").strip().splitlines()[:1]))
tp = sum(p for p, _ in groups.values()); tt = sum(t for _, t in groups.values())
for g, (p, t) in groups.items():
    print(f"{p}/{t}\t{g}")
print(f"{tp}/{tt}\ttotal")
for name, msg in failed:
    print(f"FAIL {name}: {msg[0] if msg else ''}")
print(f"{tp} passed, {tt - tp} failed")
PY
exit $rc

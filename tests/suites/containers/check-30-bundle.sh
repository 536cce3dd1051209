#!/usr/bin/env bash
# @description pharos-bundle, run as the first user on the login node, unpacks the image into a bundle in their shared home; a second run keeps it
# @nodes controller
# @timeout 1800
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users configured: bundles belong to a user"
who=$(first_user)
home="${PHAROS_HOME_ROOT:-/shared/home}/${who}"
bundle="${home}/containers/pytorch"
start=$(date +%s)
as_user "$who" "mkdir -p ~/containers && pharos-bundle '${PHAROS_CONTAINER_REF}' ~/containers/pytorch" ||
  fail "pharos-bundle failed for ${who}"
echo "made in $(($(date +%s) - start)) s"
[[ -f ${bundle}/config.json && -x ${bundle}/rootfs/usr/bin/python3 ]] || fail "${bundle} is not a bundle with a rootfs"
owner=$(stat -c %U "${bundle}/rootfs/usr/bin/python3")
[[ $owner == "$who" ]] || fail "the rootfs belongs to ${owner}, not ${who} (not unpacked rootless)"
spool=$(scontrol show config | awk '$1 == "SlurmdSpoolDir" { print $3 }')
python3 - "${bundle}/config.json" "$(id -u "$who")" "${spool:-/var/lib/slurm/slurmd}" <<'PY' || fail "the bundle's config.json is not what Slurm's rootless crun needs (above)"
import json, sys
c = json.load(open(sys.argv[1])); uid = int(sys.argv[2]); spool = sys.argv[3]
ns = sorted(n["type"] for n in c["linux"]["namespaces"])
bad = []
if ns != ["mount", "user"]:
    bad.append(f"namespaces {ns}, expected mount and user only (host network for MPI)")
if c["linux"]["uidMappings"] != [{"containerID": uid, "hostID": uid, "size": 1}]:
    bad.append(f"uidMappings {c['linux']['uidMappings']}")
if c["process"]["user"]["uid"] != uid:
    bad.append(f"process user {c['process']['user']}")
dests = {m["destination"] for m in c["mounts"]}
for d in ("/dev", "/proc", "/sys", spool):
    if d not in dests:
        bad.append(f"no {d} bind")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
again=$(as_user "$who" "pharos-bundle '${PHAROS_CONTAINER_REF}' ~/containers/pytorch") || fail "the second pharos-bundle failed"
grep -q 'already holds' <<<"$again" || fail "the second run re-made the bundle: ${again}"
echo "ok: ${bundle} ($(du -sh "${bundle}/rootfs" | cut -f1)) holds ${PHAROS_CONTAINER_REF##*@}, owned by ${who}; a second run kept it"

#!/usr/bin/env bash
# @description the shared directory is mounted (NFS on clients) and writable on every node
# @nodes all
# @timeout 60
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured"
mp=${PHAROS_SHARED:?}
[[ -d $mp ]] || fail "${mp} does not exist on ${PHAROS_NODE}"
fstype=$(findmnt -n -T "$mp" -o FSTYPE | head -n 1)
source=$(findmnt -n -T "$mp" -o SOURCE | head -n 1)
echo "${mp} on ${PHAROS_NODE}: ${fstype} from ${source}"
# The NFS server (the controller) may use the exported directory directly.
if [[ $PHAROS_NODE_ROLE != controller && $PHAROS_SHARED_KIND == nfs && $fstype != nfs* ]]; then
  fail "${mp} is ${fstype}, not an NFS mount, on ${PHAROS_NODE}"
fi
probe="${mp}/.pharos-probe-${PHAROS_NODE}-$$"
echo ok >"$probe" || fail "cannot write to ${mp} on ${PHAROS_NODE}"
rm -f "$probe"
echo "ok: writable"

#!/usr/bin/env bash
# @description the health check drains a node whose shared storage is gone (reason in sinfo -R) and resumes it once it is back
# @nodes compute
# @timeout 420
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} == nfs ]] || skip "the drill unmounts an NFS /shared; shared storage here is ${PHAROS_SHARED_KIND:-none}"
node=$PHAROS_NODE_DOMAIN
shared=${PHAROS_SHARED:-/shared}
unit=$(systemd-escape -p --suffix=mount "$shared")
interval=$(scontrol show config | awk -F' = ' '$1 ~ /^HealthCheckInterval/ { print $2 + 0 }')
((interval > 0)) || fail "slurmd runs no health check (HealthCheckInterval=${interval})"
restore() { systemctl start "$unit" 2>/dev/null || true; }
trap restore EXIT
reason() { sinfo -h -n "$node" -o '%E' 2>/dev/null; }
wait_for "${node} to be in service" 120 bash -c "[[ \$(sinfo -h -n '$node' -o %t) =~ ^(idle|mix|alloc) ]]" || fail "${node} is not in service before the drill"
systemctl stop "$unit"
echo "stopped ${unit}; slurmd runs the health check every ${interval} s"
drained() { [[ $(reason) == pharos-healthcheck:* ]]; }
wait_for "the health check to drain ${node}" $((interval * 2 + 60)) drained || {
  sinfo -R || true
  fail "${node} was not drained after ${shared} went away"
}
sinfo -R -n "$node"
echo "reason: $(reason)"
restore
resumed() { [[ $(sinfo -h -n "$node" -o %t) =~ ^(idle|mix|alloc)$ ]] && ! drained; }
wait_for "the health check to resume ${node}" $((interval * 2 + 60)) resumed || {
  sinfo -R || true
  fail "${node} stayed drained after ${shared} came back"
}
echo "ok: ${node} drained ('pharos-healthcheck: ${shared} is not mounted') and resumed by the health check"

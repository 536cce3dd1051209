#!/usr/bin/env bash
# @description the first user unpacks the PyTorch image ($PHAROS_CONTAINER_REF) into an OCI bundle in their shared home, on a compute node
# @nodes controller
# @timeout 20m
set -euo pipefail

# Relies on (provided by the cluster, not by this suite):
# - PHAROS_CONTAINER_REF: the training image's registry reference (empty: the
#   cluster has no container image, the suite skips);
# - `pharos-bundle REF DIR` on the compute nodes: pulls REF from the cluster's
#   registry and unpacks it as an OCI bundle (DIR/config.json, DIR/rootfs) for
#   `srun --container=DIR`; idempotent (an up-to-date DIR is left as it is).
# The bundle goes where examples/training/train.sbatch looks by default
# ($HOME/containers/pytorch); the later checks of this suite use it.

ref=${PHAROS_CONTAINER_REF:-}
[[ -n $ref ]] || skip "no container image in this cluster"
((${PHAROS_COMPUTE_COUNT:-0} >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT:-0} compute node(s): two-node training needs two"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users): the training job runs as a user from a shared home"
user=$(first_user)
home=$(getent passwd "$user" | cut -d: -f6)
[[ -n $home ]] || fail "no passwd entry for ${user} on $(hostname -s)"
bundle="${home}/containers/pytorch"

started=$SECONDS
cmd="timeout 1080 srun -p ${PHAROS_PARTITION:-debug} -N1 -n1 -t 19 -J pharos-bundle pharos-bundle $(printf %q "$ref") $(printf %q "$bundle")"
out=$(as_user "$user" "$cmd" 2>&1) || {
  echo "$out"
  fail "pharos-bundle ${ref} ${bundle} failed as ${user} on a compute node"
}
echo "$out"
[[ -f ${bundle}/config.json ]] || fail "${bundle} has no config.json after pharos-bundle"
[[ -x ${bundle}/rootfs/usr/bin/python3 ]] || fail "${bundle}/rootfs has no /usr/bin/python3: is ${ref} the PyTorch image?"
owner=$(stat -c %U "${bundle}/config.json")
[[ $owner == "$user" ]] || fail "${bundle}/config.json belongs to ${owner}, not ${user}"
echo "ok: ${ref} unpacked into ${bundle} as ${user} in $((SECONDS - started)) s ($(du -sh "$bundle" 2>/dev/null | cut -f1))"

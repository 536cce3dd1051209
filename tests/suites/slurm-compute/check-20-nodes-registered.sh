#!/usr/bin/env bash
# @description every compute node is registered with slurmctld and idle or in use (not down/drained)
# @nodes controller
# @timeout 300
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
want=${PHAROS_COMPUTE_COUNT:?}
partition=${PHAROS_PARTITION:-debug}

# Ready = the partition lists as many nodes as the plan has compute nodes and
# every one of them is in a usable state (a trailing * means "not responding").
all_usable() {
  local states
  states=$(sinfo -h -N -p "$partition" -o '%N %T' | sort -u) || return 1
  [[ $(wc -l <<<"$states") -eq $want ]] || return 1
  ! grep -vqE ' (idle|mixed|allocated|completing)$' <<<"$states"
}
if ! wait_for "${want} usable nodes in partition ${partition}" 240 all_usable; then
  sinfo -N -p "$partition" -o '%N %T %E' || true
  scontrol show node | grep -E 'NodeName|State|Reason' || true
  fail "not every compute node is registered and usable in partition ${partition}"
fi
sinfo -N -p "$partition" -o '%N %T %c %m %G'

#!/usr/bin/env bash
# @description slurmctld counts as many GPUs (GRES gpu) as the plan gives the compute nodes
# @nodes controller
# @timeout 120
set -euo pipefail

((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
count_gpus() {
  gpus_per_node | awk '{ total += $2 } END { print total + 0 }'
}
gpus_match() { [[ $(count_gpus) -eq $PHAROS_TOTAL_GPUS ]]; }
if ! wait_for "${PHAROS_TOTAL_GPUS} GPUs registered" 90 gpus_match; then
  sinfo -N -o '%N %G %T'
  fail "slurmctld counts $(count_gpus) GPUs, the plan has ${PHAROS_TOTAL_GPUS} (${PHAROS_GPU_COUNTS})"
fi
sinfo -N -o '%N %G %T'

#!/usr/bin/env bash
# @description slurmctld counts as many GPUs (GRES gpu) as the plan gives the compute nodes
# @nodes controller
# @timeout 120
set -euo pipefail

((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
# GRES strings look like gpu:2, gpu:a100:2 or gpu:a100:2(S:0); sum the counts per node.
count_gpus() {
  sinfo -h -N -o '%N %G' | sort -u | awk '
    { n = 0; split($2, parts, ",");
      for (i in parts) if (parts[i] ~ /^gpu:/) { g = parts[i]; sub(/\(.*/, "", g); k = split(g, f, ":"); n += f[k] + 0 }
      total += n }
    END { print total + 0 }'
}
gpus_match() { [[ $(count_gpus) -eq $PHAROS_TOTAL_GPUS ]]; }
if ! wait_for "${PHAROS_TOTAL_GPUS} GPUs registered" 90 gpus_match; then
  sinfo -N -o '%N %G %T'
  fail "slurmctld counts $(count_gpus) GPUs, the plan has ${PHAROS_TOTAL_GPUS} (${PHAROS_GPU_COUNTS})"
fi
sinfo -N -o '%N %G %T'

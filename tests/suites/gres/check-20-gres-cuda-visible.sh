#!/usr/bin/env bash
# @description a job asking --gres=gpu:1 gets CUDA_VISIBLE_DEVICES with exactly one device
# @nodes controller
# @timeout 180
set -euo pipefail

((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
# shellcheck disable=SC2016 # expanded inside the job
out=$(timeout 150 srun -p "${PHAROS_PARTITION:-debug}" -N1 -n1 --gres=gpu:1 -t 2 -J pharos-gres \
  bash -c 'echo "host=$(hostname -s) CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset} SLURM_JOB_GPUS=${SLURM_JOB_GPUS-unset}"')
echo "$out"
cvd=$(grep -oP 'CUDA_VISIBLE_DEVICES=\K\S+' <<<"$out")
[[ $cvd =~ ^[0-9]+$ ]] || fail "CUDA_VISIBLE_DEVICES is '${cvd}', expected one device index"

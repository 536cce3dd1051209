#!/usr/bin/env bash
# @description a job given one GPU can open exactly that GPU's device file; every other GPU is denied by its device cgroup
# @nodes controller
# @timeout 240
set -euo pipefail

((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
# A node with two or more GPUs (isolation needs another device to deny).
node=$(node_with_gpus 2)
[[ -n $node ]] || skip "no node has two GPUs (${PHAROS_GPU_COUNTS})"
# gres.conf is the same file on every node (slurm-common writes it everywhere).
files=$(grep -v '^#' /etc/slurm/gres.conf | grep -oP "NodeName=${node}\s.*File=\K\S+" | tr '\n' ' ')
echo "GPU device files on ${node}: ${files}"
# Opening a device with no driver answers ENXIO when the cgroup allows it and
# EPERM when the device cgroup denies it: the two are told apart by errno.
# shellcheck disable=SC2016 # expanded inside the job
out=$(timeout 200 srun -p "${PHAROS_PARTITION:-debug}" -w "$node" -N1 -n1 --gres=gpu:1 -t 2 -J pharos-gpu-devices bash -c '
  echo "cvd=${CUDA_VISIBLE_DEVICES-unset} gpus=${SLURM_JOB_GPUS:-${SLURM_STEP_GPUS-unset}}"
  for f in '"$files"'; do
    err=$(python3 -c "import os,sys
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY))
    print(\"open\")
except OSError as e:
    print(os.strerror(e.errno))" "$f")
    echo "dev=$f result=$err"
  done')
echo "$out"
allowed=$(grep -c 'result=No such device or address' <<<"$out" || true)
opened=$(grep -c 'result=open' <<<"$out" || true)
denied=$(grep -c 'result=Operation not permitted' <<<"$out" || true)
total=$(grep -c '^dev=' <<<"$out" || true)
((total >= 2)) || fail "the job saw ${total} GPU device files, expected the node's ${files}"
((allowed + opened == 1)) || fail "the 1-GPU job could reach $((allowed + opened)) of ${total} GPU devices, expected exactly 1"
((denied == total - 1)) || fail "${denied} of ${total} GPU devices were denied, expected $((total - 1))"
cvd=$(grep -oP 'cvd=\K\S+' <<<"$out")
[[ $cvd =~ ^[0-9]+$ ]] || fail "CUDA_VISIBLE_DEVICES is '${cvd}', expected one index"
echo "ok: the job reaches 1 GPU device (CUDA_VISIBLE_DEVICES=${cvd}), the other $((total - 1)) are denied"

#!/usr/bin/env bash
# @description two concurrent single-GPU jobs on one node never get the same device
# @nodes controller
# @timeout 240
set -euo pipefail

((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
# A node with at least two GPUs, as slurmctld sees it.
node=$(node_with_gpus 2)
[[ -n $node ]] || skip "no node has two GPUs (${PHAROS_GPU_COUNTS})"
cpus=$(sinfo -h -N -n "$node" -o '%c' | head -n 1)
echo "node: ${node} (${cpus} CPUs)"
# On a 1-CPU node the two jobs share the CPU (the partition allows it on
# request); the GPUs must still be exclusive.
share=()
((cpus >= 2)) || share=(--oversubscribe)

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# Each job records when it started, leaves a marker in a directory on the node
# and holds its GPU until it sees the other job's marker (or 120 s pass): the
# two jobs meet, so the overlap is proven, not assumed, and neither sleeps
# longer than it takes the other to start. The last one out removes the directory.
rdv="/tmp/pharos-gres-${RANDOM}${RANDOM}-$$"
# shellcheck disable=SC2016 # expanded inside the job
job='d=$1 me=$2 other=$3
echo "start=$(date +%s%N) cvd=${CUDA_VISIBLE_DEVICES-unset} gpus=${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS-unset}}"
mkdir -p "$d" && touch "$d/$me"
for ((k = 0; k < 480; k++)); do [[ -e $d/$other ]] && break; sleep 0.25; done
[[ -e $d/$other ]] && echo "met=$other" || echo "met=none (waited 120 s)"
echo "end=$(date +%s%N)"
touch "$d/$me.done"
if [[ -e $d/$other.done || ! -e $d/$other ]]; then rm -rf "$d"; fi'
for i in 1 2; do
  timeout 200 srun -p "${PHAROS_PARTITION:-debug}" -w "$node" -N1 -n1 -c1 "${share[@]}" --gres=gpu:1 -t 3 -J "pharos-gres-$i" \
    bash -c "$job" pharos-gres "$rdv" "$i" "$((3 - i))" >"$tmp/$i.out" 2>&1 &
  pids+=("$!")
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
pids=()
cat "$tmp/1.out" "$tmp/2.out"
((rc == 0)) || fail "a GPU job failed (exit ${rc})"

field() { grep -oP "^.*\\b$2=\\K\\S+" "$tmp/$1.out" | head -n 1; }
c1=$(field 1 cvd) c2=$(field 2 cvd)
s1=$(field 1 start) s2=$(field 2 start) e1=$(field 1 end) e2=$(field 2 end)
[[ $c1 =~ ^[0-9]+$ && $c2 =~ ^[0-9]+$ ]] || fail "jobs did not both get a GPU (CUDA_VISIBLE_DEVICES '${c1}' and '${c2}')"
if ((s1 >= e2 || s2 >= e1)); then
  fail "the two jobs did not overlap, so exclusivity was not tested (is the node's CPU or memory fully allocated per job?)"
fi
g1=$(field 1 gpus) g2=$(field 2 gpus)
# SLURM_STEP_GPUS/SLURM_JOB_GPUS are global GPU ids; with device cgroups
# CUDA_VISIBLE_DEVICES is renumbered per job (both may be 0), so compare the
# global ids when Slurm provides them and the visible indices otherwise.
if [[ $g1 != unset && $g2 != unset ]]; then
  [[ $g1 != "$g2" ]] || fail "both concurrent jobs were allocated GPU ${g1}"
else
  [[ $c1 != "$c2" ]] || fail "both concurrent jobs got CUDA_VISIBLE_DEVICES=${c1}"
fi
echo "ok: concurrent jobs on ${node} got devices ${c1} and ${c2} (SLURM_JOB_GPUS ${g1} / ${g2})"

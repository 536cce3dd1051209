#!/usr/bin/env bash
# @description a 4-task job array runs every task once
# @nodes controller
# @timeout 300
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured: array output would stay on the compute nodes"
dir=$(shared_scratch)
trap 'rm -rf "$dir"' EXIT
# shellcheck disable=SC2016 # expanded by the job, not here
job=$(sbatch --parsable -p "${PHAROS_PARTITION:-debug}" -N1 -t 5 -J pharos-array --array=1-4 -D "$dir" \
  -o "$dir/array-%A_%a.out" --wrap 'echo "task=${SLURM_ARRAY_TASK_ID} host=$(hostname -s)"')
job=${job%%;*}
echo "submitted array job ${job}"

all_done() {
  local i
  [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] || return 1
  for i in 1 2 3 4; do grep -q "^task=${i} " "$dir/array-${job}_${i}.out" 2>/dev/null || return 1; done
}
wait_for "all 4 tasks of array job ${job}" 240 all_done || {
  squeue -j "$job" || true
  ls -la "$dir"
  fail "array job ${job} did not run all 4 tasks"
}
cat "$dir"/array-"$job"_*.out
n=$(cat "$dir"/array-"$job"_*.out | grep -c '^task=')
((n == 4)) || fail "expected 4 task outputs, found ${n}"

#!/usr/bin/env bash
# @description a batch array's tasks each write their own output in the submitter's shared home
# @nodes controller
# @timeout 300
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
user=$(first_user)
home="${PHAROS_HOME_ROOT}/${user}"
job=$(as_user "$user" "sbatch --parsable -p ${PHAROS_PARTITION:-debug} -t 5 -a 1-3 -J pharos-array -o pharos-array-%A_%a.out --wrap 'echo task=\$SLURM_ARRAY_TASK_ID host=\$(hostname -s)'")
job=${job%%;*}
trap 'rm -f "${home}"/pharos-array-"${job}"_*.out' EXIT
echo "submitted array ${job} as ${user}"
all_over() { local t; for t in 1 2 3; do job_over "${job}_${t}" || return 1; done; }
wait_for "array ${job}'s 3 tasks to end" 240 all_over || { squeue -j "$job" || true; fail "array ${job} did not finish"; }
for t in 1 2 3; do
  out="${home}/pharos-array-${job}_${t}.out"
  wait_for "${out}" 30 grep -q "^task=${t} " "$out" || fail "array task ${t}'s output is not in ${home}"
  cat "$out"
done
echo "ok: array ${job} wrote 3 task outputs in ${home}"

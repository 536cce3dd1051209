#!/usr/bin/env bash
# @description scancel stops a running job
# @nodes controller
# @timeout 240
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
job=$(sbatch --parsable -p "${PHAROS_PARTITION:-debug}" -N1 -t 10 -J pharos-cancel -D /tmp -o /dev/null --wrap 'sleep 600')
job=${job%%;*}
trap 'scancel "$job" 2>/dev/null || true' EXIT
echo "submitted job ${job}"

running() { [[ $(job_state "$job") == RUNNING ]]; }
wait_for "job ${job} to start running" 180 running || { scontrol show job "$job" || true; fail "job ${job} never started"; }
scancel "$job"
cancelled() { [[ $(job_state "$job") =~ ^(CANCELLED|GONE)$ ]]; }
wait_for "job ${job} to be cancelled" 45 cancelled || { scontrol show job "$job" || true; fail "scancel did not stop job ${job}"; }
echo "job ${job}: $(job_state "$job")"
